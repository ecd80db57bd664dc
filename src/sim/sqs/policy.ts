/**
 * Just enough of IAM resource-policy evaluation for an SQS queue policy: who (Principal), what (Action), on which
 * queue (Resource), under which conditions (Condition on context keys such as aws:SourceArn).
 */

type OneOrMany<T> = T | T[];
type Principal = '*' | Record<string, OneOrMany<string>>;

interface Statement {
  Effect: 'Allow' | 'Deny';
  Principal?: Principal;
  NotPrincipal?: Principal;
  Action?: OneOrMany<string>;
  NotAction?: OneOrMany<string>;
  Resource?: OneOrMany<string>;
  NotResource?: OneOrMany<string>;
  Condition?: Record<string, Record<string, OneOrMany<string>>>;
}

export interface PolicyDocument {
  Statement: Statement[];
}

export interface PolicyRequest {
  /** e.g. `{ Service: 'sns.amazonaws.com' }` or `{ AWS: 'arn:aws:iam::123456789012:root' }` */
  principal: Record<string, string>;
  /** e.g. `sqs:SendMessage` */
  action: string;
  resource: string;
  /** Condition keys, lower-case (`aws:sourcearn`); key names are case-insensitive in IAM */
  context: Record<string, string>;
}

/** Parses and shape-checks a policy; throws an Error saying what is wrong. */
export function parsePolicy(text: string): PolicyDocument {
  const doc = JSON.parse(text) as { Statement?: OneOrMany<Statement> };
  if (typeof doc !== 'object' || doc === null || doc.Statement === undefined) throw new Error('policy has no Statement');
  const statements = list(doc.Statement);
  for (const s of statements) {
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new Error('statement Effect must be Allow or Deny');
    if ((s.Principal === undefined) === (s.NotPrincipal === undefined)) throw new Error('statement needs Principal or NotPrincipal');
    if ((s.Action === undefined) === (s.NotAction === undefined)) throw new Error('statement needs Action or NotAction');
    if ((s.Resource === undefined) === (s.NotResource === undefined)) throw new Error('statement needs Resource or NotResource');
  }
  return { Statement: statements };
}

/** IAM evaluation order: an explicit Deny wins, then any Allow; otherwise the implicit deny. */
export function policyAllows(policy: PolicyDocument, request: PolicyRequest): boolean {
  const matching = policy.Statement.filter((s) => statementMatches(s, request));
  return !matching.some((s) => s.Effect === 'Deny') && matching.some((s) => s.Effect === 'Allow');
}

function statementMatches(s: Statement, r: PolicyRequest): boolean {
  const principal = s.Principal !== undefined ? principalMatches(s.Principal, r) : !principalMatches(s.NotPrincipal!, r);
  const action =
    s.Action !== undefined
      ? list(s.Action).some((a) => globMatches(a, r.action, true))
      : !list(s.NotAction!).some((a) => globMatches(a, r.action, true));
  const resource =
    s.Resource !== undefined
      ? list(s.Resource).some((p) => arnMatches(p, r.resource))
      : !list(s.NotResource!).some((p) => arnMatches(p, r.resource));
  return principal && action && resource && conditionsMatch(s.Condition ?? {}, r.context);
}

function principalMatches(p: Principal, r: PolicyRequest): boolean {
  if (p === '*') return true;
  return Object.entries(p).some(([type, values]) =>
    list(values).some((v) => {
      // {"AWS": "*"} means everyone, service principals included, exactly like "*".
      if (type === 'AWS' && v === '*') return true;
      const asked = r.principal[type];
      if (asked === undefined) return false;
      // An account id stands for the account's root principal.
      return v === asked || (type === 'AWS' && `arn:aws:iam::${v}:root` === asked);
    }),
  );
}

type Operator = (pattern: string, value: string) => boolean;
const OPERATORS: Record<string, Operator> = {
  StringEquals: (p, v) => p === v,
  StringNotEquals: (p, v) => p !== v,
  StringEqualsIgnoreCase: (p, v) => p.toLowerCase() === v.toLowerCase(),
  StringNotEqualsIgnoreCase: (p, v) => p.toLowerCase() !== v.toLowerCase(),
  StringLike: (p, v) => globMatches(p, v, false),
  StringNotLike: (p, v) => !globMatches(p, v, false),
  // ArnEquals and ArnLike are the same operator in IAM: both take wildcards, per ARN component.
  ArnEquals: arnMatches,
  ArnLike: arnMatches,
  ArnNotEquals: (p, v) => !arnMatches(p, v),
  ArnNotLike: (p, v) => !arnMatches(p, v),
};

/** Every operator block must hold; within one key any listed value may match (negated operators: none may). */
function conditionsMatch(condition: NonNullable<Statement['Condition']>, context: Record<string, string>): boolean {
  return Object.entries(condition).every(([operatorName, keys]) => {
    const ifExists = operatorName.endsWith('IfExists');
    const baseName = ifExists ? operatorName.slice(0, -'IfExists'.length) : operatorName;
    const operator = OPERATORS[baseName];
    if (!operator) return false; // an operator we cannot evaluate never grants (nor, in a Deny, refuses)
    const negated = baseName.includes('Not');
    return Object.entries(keys).every(([key, patterns]) => {
      const value = context[key.toLowerCase()];
      if (value === undefined) return ifExists || negated;
      const results = list(patterns).map((p) => operator(p, value));
      return negated ? results.every(Boolean) : results.some(Boolean);
    });
  });
}

/** ARN patterns match component by component (partition, service, region, account, resource). */
function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  if (!p || !a) return globMatches(pattern, arn, false);
  return p.every((part, i) => globMatches(part, a[i]!, false));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

/** `*` matches any run of characters, `?` exactly one. */
function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

function list<T>(v: OneOrMany<T>): T[] {
  return Array.isArray(v) ? v : [v];
}
