import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { SimError, escapeXml, sendXml, toXml, type SimRequest } from '../http.js';

/** The AWS Query protocol as SNS speaks it: form-encoded parameters in, namespaced XML out. */
export const SNS_XML_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** A call's parameters: the form body, and the query string (GET-style calls carry them there). */
export async function readQueryParameters(req: SimRequest): Promise<URLSearchParams> {
  const params = new URLSearchParams(req.query);
  for (const [name, value] of new URLSearchParams((await req.body()).toString('utf8'))) params.set(name, value);
  return params;
}

/**
 * The structures of a flattened list or map: `Prefix.1.Field=…&Prefix.2.Field=…` becomes
 * `[{Field: …}, {Field: …}]` in index order (`Prefix` is e.g. `Tags.member` or `Attributes.entry`).
 */
export function indexedGroups(params: URLSearchParams, prefix: string): Record<string, string>[] {
  const groups = new Map<number, Record<string, string>>();
  const head = `${prefix}.`;
  for (const [name, value] of params) {
    if (!name.startsWith(head)) continue;
    const rest = name.slice(head.length);
    const dot = rest.indexOf('.');
    const index = Number(rest.slice(0, dot));
    if (dot < 0 || !Number.isInteger(index)) continue;
    const group = groups.get(index) ?? {};
    group[rest.slice(dot + 1)] = value;
    groups.set(index, group);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** `Name.entry.N.key` / `Name.entry.N.value` pairs (topic and subscription attribute maps). */
export function entryMap(params: URLSearchParams, name: string): Map<string, string> {
  return new Map(indexedGroups(params, `${name}.entry`).map((g) => [g.key ?? '', g.value ?? '']));
}

/** `<Name><entry><key>…</key><value>…</value></entry>…</Name>` content for an attribute map. */
export function entryXml(map: Iterable<[string, string]>): { entry: { key: string; value: string }[] } {
  return { entry: [...map].map(([key, value]) => ({ key, value })) };
}

export function sendQueryResult(res: ServerResponse, action: string, result: Record<string, unknown> | undefined): void {
  const requestId = randomUUID();
  const body = result === undefined ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  sendXml(
    res,
    200,
    `<${action}Response xmlns="${SNS_XML_NAMESPACE}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    { 'x-amzn-requestid': requestId },
  );
}

export function sendQueryError(res: ServerResponse, err: SimError): void {
  const requestId = randomUUID();
  const type = err.status >= 500 ? 'Receiver' : 'Sender';
  sendXml(
    res,
    err.status,
    `<ErrorResponse xmlns="${SNS_XML_NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(err.code)}</Code>` +
      `<Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    { 'x-amzn-requestid': requestId, ...err.headers },
  );
}
