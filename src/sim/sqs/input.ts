import { sqsError } from './errors.js';
import type { MessageAttributes } from './message.js';

/** A parsed AWS JSON 1.0 request body. */
export type JsonInput = Record<string, unknown>;

export function parseJsonInput(body: Buffer): JsonInput {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw sqsError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw sqsError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed as JsonInput;
}

export function requiredString(input: JsonInput, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined || value === '') throw sqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  return value;
}

export function optionalString(input: JsonInput, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidValue(name, value, 'Must be a string.');
  return value;
}

/** An integer parameter within [min, max]; clients may send numbers or numeric strings. */
export function optionalInt(input: JsonInput, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidValue(name, value, `Must be between ${min} and ${max}, if provided.`);
  }
  return n;
}

export function requiredInt(input: JsonInput, name: string, min: number, max: number): number {
  const value = optionalInt(input, name, min, max);
  if (value === undefined) throw sqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  return value;
}

export function stringMap(input: JsonInput, name: string): Record<string, string> {
  const value = input[name] ?? {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidValue(name, value, 'Must be a map.');
  for (const v of Object.values(value)) if (typeof v !== 'string') throw invalidValue(name, v, 'Map values must be strings.');
  return value as Record<string, string>;
}

export function stringList(input: JsonInput, name: string): string[] {
  const value = input[name] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalidValue(name, value, 'Must be a list of strings.');
  }
  return value as string[];
}

export function objectList(input: JsonInput, name: string): JsonInput[] {
  const value = input[name] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null)) {
    throw invalidValue(name, value, 'Must be a list of structures.');
  }
  return value as JsonInput[];
}

const MAX_MESSAGE_ATTRIBUTES = 10;

/** `{"Name": {"DataType": "String", "StringValue": "…"}}`, binary values in base64; checked as SQS checks them. */
export function messageAttributes(input: JsonInput, name = 'MessageAttributes'): MessageAttributes {
  const raw = input[name] ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidValue(name, raw, 'Must be a map.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw sqsError('InvalidParameterValue', `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`);
  }
  const out: MessageAttributes = {};
  for (const [attributeName, rawValue] of entries) {
    const value = (typeof rawValue === 'object' && rawValue !== null ? rawValue : {}) as JsonInput;
    const dataType = optionalString(value, 'DataType');
    if (!dataType) throw sqsError('InvalidParameterValue', `The message attribute '${attributeName}' must contain a non-empty attribute type.`);
    const baseType = dataType.split('.')[0];
    if (baseType === 'Binary') {
      const binary = optionalString(value, 'BinaryValue');
      if (!binary) throw emptyAttributeValue(attributeName, dataType);
      out[attributeName] = { DataType: dataType, BinaryValue: Buffer.from(binary, 'base64') };
    } else if (baseType === 'String' || baseType === 'Number') {
      const text = optionalString(value, 'StringValue');
      if (!text) throw emptyAttributeValue(attributeName, dataType);
      if (baseType === 'Number' && !Number.isFinite(Number(text))) {
        throw sqsError('InvalidParameterValue', `Could not cast message attribute '${attributeName}' value to number.`);
      }
      out[attributeName] = { DataType: dataType, StringValue: text };
    } else {
      throw sqsError('InvalidParameterValue', `The type of message attribute '${attributeName}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`);
    }
  }
  return out;
}

function emptyAttributeValue(name: string, dataType: string) {
  return sqsError('InvalidParameterValue', `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
}

function invalidValue(name: string, value: unknown, reason: string) {
  return sqsError('InvalidParameterValue', `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: ${reason}`);
}
