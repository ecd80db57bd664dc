import { SimError } from '../http.js';

/**
 * SQS errors by their JSON-protocol shape name, with HTTP status and, where it differs, the awsQuery code that
 * SQS also sends (x-amzn-query-error) and that SDKs in query-compatible mode map back to the modelled error.
 */
const SQS_ERRORS = {
  QueueDoesNotExist: { status: 400, queryCode: 'AWS.SimpleQueueService.NonExistentQueue' },
  QueueNameExists: { status: 400, queryCode: 'QueueAlreadyExists' },
  QueueDeletedRecently: { status: 400, queryCode: 'AWS.SimpleQueueService.QueueDeletedRecently' },
  PurgeQueueInProgress: { status: 403, queryCode: 'AWS.SimpleQueueService.PurgeQueueInProgress' },
  EmptyBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  TooManyEntriesInBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  InvalidBatchEntryId: { status: 400, queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  BatchRequestTooLong: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchRequestTooLong' },
  UnsupportedOperation: { status: 400, queryCode: 'AWS.SimpleQueueService.UnsupportedOperation' },
  ReceiptHandleIsInvalid: { status: 404 },
  InvalidAddress: { status: 404 },
  InvalidAttributeName: { status: 400 },
  InvalidAttributeValue: { status: 400 },
  InvalidMessageContents: { status: 400 },
  InvalidParameterValue: { status: 400 },
  MissingParameter: { status: 400 },
  InvalidAction: { status: 400 },
  SerializationException: { status: 400 },
  RequestThrottled: { status: 403 },
  InternalError: { status: 500 },
  ServiceUnavailable: { status: 503 },
  ExpiredToken: { status: 403 },
} satisfies Record<string, { status: number; queryCode?: string }>;

export type SqsErrorCode = keyof typeof SQS_ERRORS;

export function sqsError(code: SqsErrorCode, message: string): SimError {
  return new SimError(SQS_ERRORS[code].status, code, message);
}

/** The awsQuery error code for an error's shape name (batch results report this code too). */
export function queryErrorCode(code: string): string {
  const known = (SQS_ERRORS as Record<string, { queryCode?: string }>)[code];
  return known?.queryCode ?? code;
}
