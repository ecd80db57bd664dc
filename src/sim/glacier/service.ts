import type { ServerResponse } from 'node:http';
import { SimError, type Route, type SimRequest, type SimService } from '../http.js';
import type { FaultKind } from '../faults.js';
import type { SimWorld } from '../world.js';

export interface GlacierOptions {}

// STUB: to be implemented.
export class GlacierService implements SimService {
  readonly name = 'glacier';
  constructor(readonly world: SimWorld, readonly options: GlacierOptions) {}
  route(_req: SimRequest): Route {
    throw new SimError(400, 'NotImplemented', 'not implemented');
  }
  sendError(res: ServerResponse, err: SimError): void {
    res.writeHead(err.status);
    res.end(err.code);
  }
  faultError(_kind: FaultKind): SimError | undefined {
    return undefined;
  }
}
