// SQL92 property filters (FilterExpression type SQL) as a MessageFilter, evaluated with SQL's
// three-valued logic: a missing property makes a comparison UNKNOWN, NOT UNKNOWN is UNKNOWN, and
// only TRUE accepts the message. Property values are strings: a comparison with a number
// literal reads the property as a number (UNKNOWN if it is not one), with TRUE/FALSE as
// true/false (any case), with a 'string' as text (ordered by UTF-16 code units); two properties
// compare as text; a signed property (-a) is read as a number. CONTAINS / STARTSWITH / ENDSWITH
// read the property as text and are UNKNOWN when it is missing, so NOT CONTAINS does not take a
// message without the property either. Besides user properties, TAGS is the message's tag (a
// user property of that name wins).
import type { MessageFilter } from './message-filter';
import { parseSql, type ComparisonOperator, type SqlCondition, type SqlOperand } from './sql-parser';

/** SQL's third truth value. */
type Truth = boolean | undefined;
type Value = number | string | boolean | undefined;

export function parseSqlFilter(expression: string): MessageFilter {
  const condition = parseSql(expression);
  return {
    acceptsAll: false,
    // The queue index holds only the tag's hash: every record has to be read.
    acceptTagHash: () => true,
    accept: (tag, userProperties) => evaluateSql(condition, (name) => userProperties.get(name) ?? (name === 'TAGS' ? tag : undefined)) === true,
  };
}

/** The condition's truth for a message whose properties `lookup` reads (undefined: missing). */
export function evaluateSql(condition: SqlCondition, lookup: (name: string) => string | undefined): Truth {
  switch (condition.kind) {
    case 'constant':
      return condition.value;
    case 'and': {
      let result: Truth = true;
      for (const operand of condition.operands) {
        const truth = evaluateSql(operand, lookup);
        if (truth === false) return false;
        if (truth === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      let result: Truth = false;
      for (const operand of condition.operands) {
        const truth = evaluateSql(operand, lookup);
        if (truth === true) return true;
        if (truth === undefined) result = undefined;
      }
      return result;
    }
    case 'not':
      return negate(evaluateSql(condition.operand, lookup));
    case 'compare':
      return compare(condition.operator, condition.left, condition.right, lookup);
    case 'between': {
      const inside = and(compare('>=', condition.value, condition.low, lookup), compare('<=', condition.value, condition.high, lookup));
      return condition.negated ? negate(inside) : inside;
    }
    case 'in': {
      let found: Truth = false;
      for (const item of condition.list) {
        const truth = compare('=', condition.value, item, lookup);
        if (truth === true) {
          found = true;
          break;
        }
        if (truth === undefined) found = undefined;
      }
      return condition.negated ? negate(found) : found;
    }
    case 'isNull': {
      const value = condition.value;
      const missing = (value.kind === 'property' || value.kind === 'signedProperty') && lookup(value.name) === undefined;
      return condition.negated ? !missing : missing;
    }
    case 'text': {
      const text = valueOf(condition.value, 'text', lookup);
      if (typeof text !== 'string') return undefined;
      const found = condition.operator === 'contains' ? text.includes(condition.pattern) : condition.operator === 'startsWith' ? text.startsWith(condition.pattern) : text.endsWith(condition.pattern);
      return condition.negated ? !found : found;
    }
  }
}

function negate(truth: Truth): Truth {
  return truth === undefined ? undefined : !truth;
}

function and(a: Truth, b: Truth): Truth {
  if (a === false || b === false) return false;
  return a === undefined || b === undefined ? undefined : true;
}

/** Compares two operands; the literal side (if any) decides how a property's text is read. */
function compare(operator: ComparisonOperator, left: SqlOperand, right: SqlOperand, lookup: (name: string) => string | undefined): Truth {
  const as = kindOf(left) ?? kindOf(right) ?? 'text';
  const a = valueOf(left, as, lookup);
  const b = valueOf(right, as, lookup);
  if (a === undefined || b === undefined || typeof a !== typeof b) return undefined;
  switch (operator) {
    case '=':
      return a === b;
    case '<>':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

/** How an operand makes the other side read: a literal by its type, a signed property as a number. */
function kindOf(operand: SqlOperand): 'number' | 'string' | 'boolean' | undefined {
  if (operand.kind === 'property') return undefined;
  return operand.kind === 'signedProperty' ? 'number' : operand.kind;
}

function valueOf(operand: SqlOperand, as: 'number' | 'string' | 'boolean' | 'text', lookup: (name: string) => string | undefined): Value {
  if (operand.kind === 'signedProperty') {
    const text = lookup(operand.name);
    if (text === undefined || !NUMERIC.test(text)) return undefined;
    return operand.negated ? -Number(text) : Number(text);
  }
  if (operand.kind !== 'property') return operand.value;
  const text = lookup(operand.name);
  if (text === undefined) return undefined;
  if (as === 'number') return NUMERIC.test(text) ? Number(text) : undefined;
  if (as === 'boolean') {
    const lower = text.toLowerCase();
    return lower === 'true' ? true : lower === 'false' ? false : undefined;
  }
  return text;
}

const NUMERIC = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
