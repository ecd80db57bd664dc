import type { ServerResponse } from 'node:http';
import { SimError, type Route, type SimRequest, type SimService } from '../http.js';
import type { FaultKind } from '../faults.js';
import type { SimWorld } from '../world.js';

// STUB: to be implemented.
export class SnsService implements SimService {
  readonly name = 'sns';
  constructor(readonly world: SimWorld) {}
  route(_req: SimRequest): Route {
    throw new SimError(400, 'NotImplemented', 'not implemented');
  }
  sendError(res: ServerResponse, err: SimError): void {
    res.writeHead(err.status);
    res.end(err.code);
  }
  /** Internal publish used by Glacier job notifications; returns the MessageId. */
  publish(_topicArn: string, _message: string, _subject?: string): string {
    return '';
  }
  faultError(_kind: FaultKind): SimError | undefined {
    return undefined;
  }
}
