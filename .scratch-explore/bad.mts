import { startSimHarness } from '/work/main/test/helpers/sim.ts';
import { spawnSync } from 'node:child_process';
const h = await startSimHarness({});
const r = spawnSync('node', ['bin/glacier-copy','start','--vault','nope','--bucket','bkt','--endpoint-url',h.sim.url,'--state','/tmp/gc/bad.db','--region','us-east-1'], { env: { ...process.env, AWS_ACCESS_KEY_ID:'x', AWS_SECRET_ACCESS_KEY:'y' }, encoding: 'utf8' });
console.log(r.status, JSON.stringify(r.stderr));
await h.stop();
