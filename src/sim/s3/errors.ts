import { SimError } from '../http.js';

/** An S3 error; `fields` are the extra elements S3 puts in the `<Error>` body (Key, BucketName, UploadId …). */
export class S3Error extends SimError {
  constructor(
    status: number,
    code: string,
    message: string,
    readonly fields: Record<string, string | number> = {},
    headers: Record<string, string> = {},
  ) {
    super(status, code, message, headers);
  }
}

export const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** PutObject and UploadPart bodies are at most 5 GiB. */
export const MAX_UPLOAD_BYTES = 5 * GiB;

export const noSuchBucket = (bucket: string) =>
  new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });

export const noSuchKey = (key: string) => new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });

export const noSuchUpload = (uploadId: string) =>
  new S3Error(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );

export const invalidRequest = (message: string) => new S3Error(400, 'InvalidRequest', message);

export const invalidArgument = (message: string, name: string, value: string) =>
  new S3Error(400, 'InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });

export const malformedXml = () =>
  new S3Error(
    400,
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );

export const notImplemented = (what: string) =>
  new S3Error(501, 'NotImplemented', `A header or query you provided implies functionality that is not implemented: ${what}`);

export const entityTooLarge = (size: number) =>
  new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
    ProposedSize: size,
    MaxSizeAllowed: MAX_UPLOAD_BYTES,
  });
