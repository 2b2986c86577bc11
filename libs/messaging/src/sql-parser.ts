// RocketMQ's SQL92 subset for property filters, parsed into a small tree: comparisons
// (= <> < <= > >=) of properties with numbers, 'strings' and TRUE/FALSE, [NOT] BETWEEN, [NOT] IN,
// IS [NOT] NULL, [NOT] CONTAINS / STARTSWITH / ENDSWITH 'text', unary + and - (RocketMQ's grammar
// has no other arithmetic), AND/OR/NOT and parentheses. Keywords are case-insensitive, property
// names are not. A malformed expression is refused with ILLEGAL_FILTER_EXPRESSION naming the problem and
// its position (1-based character); the length and the nesting depth are bounded.
import { RmqError } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';

export type SqlOperand =
  | { kind: 'property'; name: string }
  /** A property read as a number, negated for a unary minus (`-price > -5`). */
  | { kind: 'signedProperty'; name: string; negated: boolean }
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'boolean'; value: boolean };

export type SqlLiteral = Exclude<SqlOperand, { kind: 'property' | 'signedProperty' }>;

export type TextOperator = 'contains' | 'startsWith' | 'endsWith';

export type ComparisonOperator = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type SqlCondition =
  | { kind: 'and' | 'or'; operands: SqlCondition[] }
  | { kind: 'not'; operand: SqlCondition }
  | { kind: 'compare'; operator: ComparisonOperator; left: SqlOperand; right: SqlOperand }
  | { kind: 'between'; value: SqlOperand; low: SqlOperand; high: SqlOperand; negated: boolean }
  | { kind: 'in'; value: SqlOperand; list: SqlLiteral[]; negated: boolean }
  | { kind: 'isNull'; value: SqlOperand; negated: boolean }
  | { kind: 'text'; operator: TextOperator; value: SqlOperand; pattern: string; negated: boolean }
  | { kind: 'constant'; value: boolean };

type Token =
  | { type: 'keyword'; text: string; at: number }
  | { type: 'identifier'; text: string; at: number }
  | { type: 'number'; value: number; text: string; at: number }
  | { type: 'string'; value: string; text: string; at: number }
  | { type: 'symbol'; text: string; at: number }
  | { type: 'end'; text: string; at: number };

const TEXT_OPERATORS: Record<string, TextOperator> = { CONTAINS: 'contains', STARTSWITH: 'startsWith', ENDSWITH: 'endsWith' };
const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE', ...Object.keys(TEXT_OPERATORS)]);
const COMPARISONS = new Set<string>(['=', '<>', '<', '<=', '>', '>=']);
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$.]*/y;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;

/** Parses a SQL92 filter expression; throws ILLEGAL_FILTER_EXPRESSION with the position of the problem. */
export function parseSql(expression: string): SqlCondition {
  if (expression.length > MESSAGING_LIMITS.filterExpressionLengthMax) {
    throw illegal(expression, `it is ${expression.length} characters long; the limit is ${MESSAGING_LIMITS.filterExpressionLengthMax}`);
  }
  return new Parser(expression, tokenize(expression)).parse();
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < expression.length) {
    const char = expression[at];
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    if (char === "'") {
      let value = '';
      let end = at + 1;
      for (;;) {
        if (end >= expression.length) throw illegal(expression, `the string starting at position ${at + 1} is not closed with '`);
        if (expression[end] === "'") {
          if (expression[end + 1] === "'") {
            value += "'";
            end += 2;
            continue;
          }
          break;
        }
        value += expression[end++];
      }
      tokens.push({ type: 'string', value, text: expression.slice(at, end + 1), at });
      at = end + 1;
      continue;
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(expression);
    // A minus sign is part of a number only where an operand starts (not after one).
    if (number && (char !== '-' || !endsOperand(tokens[tokens.length - 1]))) {
      const value = Number(number[0]);
      if (!Number.isFinite(value)) throw illegal(expression, `the number ${number[0]} at position ${at + 1} is out of range`);
      tokens.push({ type: 'number', value, text: number[0], at });
      at += number[0].length;
      continue;
    }
    IDENTIFIER.lastIndex = at;
    const word = IDENTIFIER.exec(expression);
    if (word) {
      const upper = word[0].toUpperCase();
      tokens.push(KEYWORDS.has(upper) ? { type: 'keyword', text: upper, at } : { type: 'identifier', text: word[0], at });
      at += word[0].length;
      continue;
    }
    const two = expression.slice(at, at + 2);
    if (two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ type: 'symbol', text: two, at });
      at += 2;
      continue;
    }
    if ('=<>(),+-'.includes(char)) {
      tokens.push({ type: 'symbol', text: char, at });
      at++;
      continue;
    }
    throw illegal(expression, `unexpected character ${JSON.stringify(char)} at position ${at + 1}`);
  }
  tokens.push({ type: 'end', text: 'the end', at });
  return tokens;
}

function endsOperand(token: Token | undefined): boolean {
  if (!token) return false;
  return token.type === 'identifier' || token.type === 'number' || token.type === 'string' || (token.type === 'symbol' && token.text === ')') || (token.type === 'keyword' && ['TRUE', 'FALSE', 'NULL'].includes(token.text));
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly expression: string,
    private readonly tokens: Token[],
  ) {}

  parse(): SqlCondition {
    if (this.peek().type === 'end') throw illegal(this.expression, 'it is empty; write a condition such as a > 5 AND b = \'x\'');
    const condition = this.or();
    const rest = this.peek();
    if (rest.type !== 'end') throw this.unexpected(rest, 'AND, OR or the end');
    return condition;
  }

  private or(): SqlCondition {
    const operands = [this.and()];
    while (this.acceptKeyword('OR')) operands.push(this.and());
    return operands.length === 1 ? operands[0] : { kind: 'or', operands };
  }

  private and(): SqlCondition {
    const operands = [this.not()];
    while (this.acceptKeyword('AND')) operands.push(this.not());
    return operands.length === 1 ? operands[0] : { kind: 'and', operands };
  }

  private not(): SqlCondition {
    const token = this.peek();
    if (this.acceptKeyword('NOT')) return this.nested(token, () => ({ kind: 'not', operand: this.not() }));
    return this.predicate();
  }

  private predicate(): SqlCondition {
    const start = this.peek();
    if (start.type === 'symbol' && start.text === '(') {
      this.index++;
      const inner = this.nested(start, () => this.or());
      this.expectSymbol(')', `) to close the ( at position ${start.at + 1}`);
      return inner;
    }
    if (start.type === 'keyword' && (start.text === 'TRUE' || start.text === 'FALSE')) {
      const next = this.tokens[this.index + 1];
      if (!(next.type === 'symbol' && COMPARISONS.has(next.text)) && !(next.type === 'keyword' && ['IS', 'IN', 'BETWEEN', 'NOT', ...Object.keys(TEXT_OPERATORS)].includes(next.text))) {
        this.index++;
        return { kind: 'constant', value: start.text === 'TRUE' };
      }
    }
    const value = this.operand();
    const token = this.peek();
    if (token.type === 'symbol' && COMPARISONS.has(token.text)) {
      this.index++;
      const right = this.operand();
      const operator = token.text as ComparisonOperator;
      if (operator !== '=' && operator !== '<>' && (value.kind === 'boolean' || right.kind === 'boolean')) {
        throw illegal(this.expression, `TRUE and FALSE can only be compared with = or <> (position ${token.at + 1})`);
      }
      return { kind: 'compare', operator, left: value, right };
    }
    if (this.acceptKeyword('IS')) {
      const negated = this.acceptKeyword('NOT');
      if (!this.acceptKeyword('NULL')) throw this.unexpected(this.peek(), negated ? 'NULL after IS NOT' : 'NULL or NOT NULL after IS');
      return { kind: 'isNull', value, negated };
    }
    const negated = this.acceptKeyword('NOT');
    const textKeyword = this.peek();
    const textOperator = textKeyword.type === 'keyword' ? TEXT_OPERATORS[textKeyword.text] : undefined;
    if (textOperator) {
      this.index++;
      const pattern = this.peek();
      if (pattern.type !== 'string') throw this.unexpected(pattern, `a 'string' after ${textKeyword.text}`);
      this.index++;
      return { kind: 'text', operator: textOperator, value, pattern: pattern.value, negated };
    }
    if (this.acceptKeyword('BETWEEN')) {
      const low = this.operand();
      if (!this.acceptKeyword('AND')) throw this.unexpected(this.peek(), 'AND between the two bounds of BETWEEN');
      const high = this.operand();
      return { kind: 'between', value, low, high, negated };
    }
    if (this.acceptKeyword('IN')) {
      this.expectSymbol('(', '( to start the IN list');
      const list: SqlLiteral[] = [];
      do {
        const item = this.operand();
        if (item.kind === 'property' || item.kind === 'signedProperty') throw illegal(this.expression, `an IN list holds literals, not the property ${item.name} (position ${this.tokens[this.index - 1].at + 1})`);
        list.push(item);
      } while (this.acceptSymbol(','));
      this.expectSymbol(')', ') to close the IN list');
      return { kind: 'in', value, list, negated };
    }
    if (negated) throw this.unexpected(this.peek(), 'BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT');
    if (value.kind === 'property') throw illegal(this.expression, `the property ${value.name} at position ${start.at + 1} is not a condition by itself; compare it, e.g. ${value.name} = 'x' or ${value.name} IS NOT NULL`);
    throw this.unexpected(token, 'a comparison (= <> < <= > >=), BETWEEN, IN, IS, CONTAINS, STARTSWITH or ENDSWITH');
  }

  private operand(): SqlOperand {
    const token = this.peek();
    this.index++;
    if (token.type === 'symbol' && (token.text === '-' || token.text === '+')) return this.signed(token);
    switch (token.type) {
      case 'identifier':
        return { kind: 'property', name: token.text };
      case 'number':
        return { kind: 'number', value: token.value };
      case 'string':
        return { kind: 'string', value: token.value };
      case 'keyword':
        if (token.text === 'TRUE' || token.text === 'FALSE') return { kind: 'boolean', value: token.text === 'TRUE' };
        if (token.text === 'NULL') throw illegal(this.expression, `NULL at position ${token.at + 1} cannot be compared; use IS NULL or IS NOT NULL`);
        break;
      default:
        break;
    }
    this.index--;
    throw this.unexpected(token, 'a property name, a number, a \'string\', TRUE or FALSE');
  }

  /** Unary + or - (RocketMQ's only arithmetic): on a number literal or a property read as a number. */
  private signed(sign: Token): SqlOperand {
    const negated = sign.text === '-';
    const inner = this.nested(sign, () => this.operand());
    if (inner.kind === 'number') return { kind: 'number', value: negated ? -inner.value : inner.value };
    if (inner.kind === 'property') return { kind: 'signedProperty', name: inner.name, negated };
    if (inner.kind === 'signedProperty') return { ...inner, negated: inner.negated !== negated };
    throw illegal(this.expression, `${sign.text} at position ${sign.at + 1} applies to numbers and properties, not to ${inner.kind === 'string' ? 'a string' : 'TRUE or FALSE'}`);
  }

  private nested<T>(token: Token, parse: () => T): T {
    if (++this.depth > MESSAGING_LIMITS.filterNestingDepthMax) {
      throw illegal(this.expression, `it nests parentheses and NOT deeper than ${MESSAGING_LIMITS.filterNestingDepthMax} levels (position ${token.at + 1})`);
    }
    const result = parse();
    this.depth--;
    return result;
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private acceptKeyword(keyword: string): boolean {
    const token = this.peek();
    if (token.type === 'keyword' && token.text === keyword) {
      this.index++;
      return true;
    }
    return false;
  }

  private acceptSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.type === 'symbol' && token.text === symbol) {
      this.index++;
      return true;
    }
    return false;
  }

  private expectSymbol(symbol: string, what: string): void {
    if (!this.acceptSymbol(symbol)) throw this.unexpected(this.peek(), what);
  }

  private unexpected(token: Token, expected: string): RmqError {
    const found = token.type === 'end' ? 'the end' : JSON.stringify(token.text);
    return illegal(this.expression, `expected ${expected} at position ${token.at + 1}, found ${found}`);
  }
}

function illegal(expression: string, reason: string): RmqError {
  const shown = expression.length > 200 ? `${expression.slice(0, 200)}...` : expression;
  return new RmqError('ILLEGAL_FILTER_EXPRESSION', { expression: JSON.stringify(shown), reason });
}
