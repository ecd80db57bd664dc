import type { ServerResponse } from 'node:http';
import { SimError, type Route, type SimRequest, type SimService } from '../http.js';
import type { FaultKind } from '../faults.js';
import type { SimWorld } from '../world.js';

// STUB: to be implemented.
export class SqsService implements SimService {
  readonly name = 'sqs';
  constructor(readonly world: SimWorld) {}
  route(_req: SimRequest): Route {
    throw new SimError(400, 'NotImplemented', 'not implemented');
  }
  sendError(res: ServerResponse, err: SimError): void {
    res.writeHead(err.status);
    res.end(err.code);
  }
  /** Internal delivery from an SNS topic, subject to the queue policy. */
  deliver(_queueArn: string, _body: string, _sourceTopicArn: string): void {}
  faultError(_kind: FaultKind): SimError | undefined {
    return undefined;
  }
}
