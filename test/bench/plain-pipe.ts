/**
 * The plain pipe of the throughput benchmark, run as a process of its own (`node --import tsx plain-pipe.ts URL
 * BUCKET ARCHIVES ARCHIVE_SIZE CHUNK CONCURRENCY`): ranged GetJobOutput streamed into UploadPart, no hashing, no
 * state, the same simulator and concurrency as the tool. Prints its copy's time and CPU (all threads) as JSON.
 */
import type { Readable } from 'node:stream';
import { DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createAwsClients } from '../../src/aws/clients.js';
import { generatedArchiveId } from '../../src/sim/glacier/generate.js';

export interface PipeCopy {
  ms: number;
  cpuSeconds: number;
  jobs: string[];
}

async function plainPipe(url: string, bucket: string, archives: number, archiveSize: number, chunk: number, concurrency: number): Promise<PipeCopy> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url });
  const s3 = clients.streamingS3;
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const ids = Array.from({ length: archives }, (_, i) => generatedArchiveId('bench', i));
  const jobs = await Promise.all(
    ids.map(async (ArchiveId) => (await clients.glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: 'bench', jobParameters: { Type: 'archive-retrieval', ArchiveId } }))).jobId!),
  );
  for (const jobId of jobs) {
    while (!(await clients.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'bench', jobId }))).Completed) await new Promise((r) => setTimeout(r, 50));
  }
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  const limit = pLimit(concurrency);
  await Promise.all(
    jobs.map(async (jobId, i) => {
      const Key = `pipe/${i}`;
      const { UploadId } = await clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
      const parts = await Promise.all(
        Array.from({ length: Math.ceil(archiveSize / chunk) }, (_, p) =>
          limit(async () => {
            const start = p * chunk;
            const end = Math.min(archiveSize, start + chunk) - 1;
            const out = await clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'bench', jobId, range: `bytes=${start}-${end}` }));
            const up = await s3.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: p + 1, Body: out.body as Readable, ContentLength: end - start + 1 }));
            return { PartNumber: p + 1, ETag: up.ETag };
          }),
        ),
      );
      await clients.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    }),
  );
  const ms = Date.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  clients.destroy();
  return { ms, cpuSeconds: (cpu.user + cpu.system) / 1e6, jobs };
}

const [url, bucket, archives, archiveSize, chunk, concurrency] = process.argv.slice(2);
const copy = await plainPipe(url!, bucket!, Number(archives), Number(archiveSize), Number(chunk), Number(concurrency));
process.stdout.write(`${JSON.stringify(copy)}\n`);
