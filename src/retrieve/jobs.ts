import { InitiateJobCommand, paginateListJobs, type GlacierClient, type GlacierJobDescription } from '@aws-sdk/client-glacier';

/** Jobs this transfer started carry this description, so `resume` can recognise them in ListJobs. */
export function jobDescription(transferId: string): string {
  return `glacier-copy ${transferId}`;
}

export async function initiateArchiveRetrieval(
  glacier: GlacierClient,
  params: { vault: string; archiveId: string; tier: string; topicArn?: string; transferId: string },
  signal?: AbortSignal,
): Promise<string> {
  const out = await glacier.send(
    new InitiateJobCommand({
      accountId: '-',
      vaultName: params.vault,
      jobParameters: {
        Type: 'archive-retrieval',
        ArchiveId: params.archiveId,
        Tier: params.tier,
        SNSTopic: params.topicArn,
        Description: jobDescription(params.transferId),
      },
    }),
    { abortSignal: signal },
  );
  return out.jobId!;
}

/** Every job Glacier still knows for the vault (completed ones for 24 h after completion). */
export async function listVaultJobs(glacier: GlacierClient, vault: string, filter: { completed?: boolean } = {}): Promise<GlacierJobDescription[]> {
  const jobs: GlacierJobDescription[] = [];
  const pages = paginateListJobs(
    { client: glacier },
    { accountId: '-', vaultName: vault, completed: filter.completed === undefined ? undefined : String(filter.completed) },
  );
  for await (const page of pages) jobs.push(...(page.JobList ?? []));
  return jobs;
}
