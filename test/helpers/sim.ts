import { DescribeJobCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/server.js';
import { createAwsClients, type AwsClients } from '../../src/aws/clients.js';

/** Test credentials: the simulator accepts any. */
export const TEST_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDSIMULATOR',
  AWS_SECRET_ACCESS_KEY: 'simulator-secret',
  AWS_REGION: 'us-east-1',
};

export interface SimHarness {
  sim: Simulator;
  clients: AwsClients;
  stop(): Promise<void>;
}

/** Starts an in-process simulator and SDK clients pointed at it. */
export async function startSimHarness(options: SimulatorOptions = {}, region = 'us-east-1'): Promise<SimHarness> {
  const sim = await startSimulator(options);
  const clients = createAwsClients({
    region,
    endpoint: sim.url,
    maxAttempts: 1,
    // Not the tool: the simulator records only glacier-copy's own calls as the tool's.
    userAgent: 'glacier-copy-test-harness',
    credentials: { accessKeyId: TEST_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_ENV.AWS_SECRET_ACCESS_KEY },
  });
  return {
    sim,
    clients,
    async stop() {
      clients.destroy();
      await sim.stop();
    },
  };
}

/** The whole body of a GetJobOutput answer. */
export async function bodyOf(out: { body?: unknown }): Promise<Buffer> {
  const bytes = await (out.body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  return Buffer.from(bytes);
}

/** Polls DescribeJob until the job has completed; returns its description. */
export async function waitForJob(glacier: GlacierClient, vaultName: string, jobId: string) {
  for (;;) {
    const job = await glacier.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId }));
    if (job.Completed) return job;
    await new Promise((r) => setTimeout(r, 10));
  }
}
