import fc from 'fast-check';
import { RmqError } from '@rmq/base';
import { MESSAGING_LIMITS } from './limits';
import { evaluateSql, parseSqlFilter } from './sql-filter';
import { parseSql, type SqlCondition, type SqlLiteral, type SqlOperand } from './sql-parser';

const FC_SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const accepts = (expression: string, properties: Record<string, string>, tag?: string) => parseSqlFilter(expression).accept(tag, new Map(Object.entries(properties)));
const problemOf = (expression: string): string => {
  try {
    parseSql(expression);
  } catch (error) {
    expect(error).toBeInstanceOf(RmqError);
    expect((error as RmqError).code).toBe('ILLEGAL_FILTER_EXPRESSION');
    return (error as RmqError).message;
  }
  throw new Error(`${expression} was accepted`);
};

describe('SQL92 filter', () => {
  it.each([
    ["a = 'x'", { a: 'x' }, true],
    ["a = 'x'", { a: 'y' }, false],
    ["a <> 'x'", { a: 'y' }, true],
    ['n > 5', { n: '7' }, true],
    ['n > 5', { n: '5' }, false],
    ['n >= 5.5 AND n <= 6', { n: '5.5' }, true],
    ['n < -1', { n: '-2' }, true],
    ['n > 5', { n: 'seven' }, false],
    ['n BETWEEN 1 AND 10', { n: '10' }, true],
    ['n NOT BETWEEN 1 AND 10', { n: '11' }, true],
    ["region IN ('eu', 'us')", { region: 'us' }, true],
    ["region NOT IN ('eu', 'us')", { region: 'asia' }, true],
    ['a IS NULL', {}, true],
    ['a IS NOT NULL', { a: '' }, true],
    ['flag = TRUE', { flag: 'true' }, true],
    ['flag = false', { flag: 'FALSE' }, true],
    ['TRUE', {}, true],
    ['FALSE OR n = 1', { n: '1' }, true],
    ["NOT (a = 'x' OR b = 'y')", { a: 'z', b: 'z' }, true],
    ["(a = 'x' OR b = 'y') AND n > 1", { a: 'x', n: '2' }, true],
    ["s > 'b'", { s: 'c' }, true],
    ["name = 'it''s'", { name: "it's" }, true],
    ['a.b_c$ = 1', { 'a.b_c$': '1' }, true],
    ["x = 'a' and Y = 'b'", { x: 'a', Y: 'b' }, true],
    ["s CONTAINS 'ell'", { s: 'hello' }, true],
    ["s contains 'xyz'", { s: 'hello' }, false],
    ["s NOT CONTAINS 'xyz'", { s: 'hello' }, true],
    ["s NOT CONTAINS 'ell'", { s: 'hello' }, false],
    ["s STARTSWITH 'he'", { s: 'hello' }, true],
    ["s STARTSWITH 'lo'", { s: 'hello' }, false],
    ["s NOT STARTSWITH 'lo'", { s: 'hello' }, true],
    ["s ENDSWITH 'lo'", { s: 'hello' }, true],
    ["s NOT ENDSWITH 'lo'", { s: 'hello' }, false],
    ["s CONTAINS ''", { s: 'hello' }, true],
    ['n CONTAINS \'12\'', { n: '3128' }, true],
    ['-n > 5', { n: '-7' }, true],
    ['-n > 5', { n: '7' }, false],
    ['- -n = 7', { n: '7' }, true],
    ['+n = 7', { n: '7' }, true],
    ['n > - 2', { n: '-1' }, true],
    ['-n = 1', { n: 'one' }, false],
    ['-n IS NULL', {}, true],
    ['NOT (-n > 0)', {}, false],
  ])('%s on %j is %s', (expression, properties, expected) => {
    expect(accepts(expression, properties)).toBe(expected);
  });

  it('treats a missing property as UNKNOWN: neither the comparison nor its negation accepts', () => {
    expect(accepts('n > 5', {})).toBe(false);
    expect(accepts('NOT (n > 5)', {})).toBe(false);
    expect(accepts('n > 5 OR TRUE', {})).toBe(true);
    expect(accepts('n NOT IN (1, 2)', {})).toBe(false);
  });

  it('treats CONTAINS / STARTSWITH / ENDSWITH on a missing property as UNKNOWN, negated or not', () => {
    for (const operator of ['CONTAINS', 'STARTSWITH', 'ENDSWITH']) {
      expect(accepts(`s ${operator} 'x'`, {})).toBe(false);
      expect(accepts(`s NOT ${operator} 'x'`, {})).toBe(false);
      expect(accepts(`NOT (s ${operator} 'x')`, {})).toBe(false);
      expect(accepts(`s ${operator} 'x' OR TRUE`, {})).toBe(true);
    }
  });

  it('reads the tag as TAGS unless a user property has that name', () => {
    expect(accepts("TAGS = 'TagA'", {}, 'TagA')).toBe(true);
    expect(accepts("TAGS = 'TagA'", { TAGS: 'mine' }, 'TagA')).toBe(false);
    expect(accepts("TAGS STARTSWITH 'Ta'", {}, 'TagA')).toBe(true);
  });

  it.each([
    ['', /it is empty/],
    ['a =', /expected a property name, a number, a 'string', TRUE or FALSE at position 4, found the end/],
    ["a = 'x", /the string starting at position 5 is not closed/],
    ['a = 1 AND', /at position 10, found the end/],
    ['(a = 1', /expected \) to close the \( at position 1 at position 7/],
    ['a', /the property a at position 1 is not a condition by itself/],
    ['a > TRUE', /TRUE and FALSE can only be compared with = or <>/],
    ['a = NULL', /use IS NULL/],
    ['a IS 5', /expected NULL or NOT NULL after IS at position 6/],
    ['a IN (b)', /an IN list holds literals, not the property b/],
    ['a BETWEEN 1 OR 2', /expected AND between the two bounds of BETWEEN at position 13/],
    ['a = 1 b = 2', /expected AND, OR or the end at position 7, found "b"/],
    ['a # 1', /unexpected character "#" at position 3/],
    ['a NOT 1', /expected BETWEEN, IN, CONTAINS, STARTSWITH or ENDSWITH after NOT at position 7/],
    ['a CONTAINS 1', /expected a 'string' after CONTAINS at position 12, found "1"/],
    ['a STARTSWITH b', /expected a 'string' after STARTSWITH at position 14, found "b"/],
    ['a ENDSWITH', /expected a 'string' after ENDSWITH at position 11, found the end/],
    ["-'x' = a", /- at position 1 applies to numbers and properties, not to a string/],
    ['a = -TRUE', /- at position 5 applies to numbers and properties, not to TRUE or FALSE/],
    ['a = -', /expected a property name, a number, a 'string', TRUE or FALSE at position 6, found the end/],
    ['a - 1 = 2', /the property a at position 1 is not a condition by itself/],
    ['a IN (-b)', /an IN list holds literals, not the property b/],
  ])('refuses %j, saying where and why', (expression, reason) => {
    expect(problemOf(expression)).toMatch(reason);
  });

  it('bounds the length and the nesting depth', () => {
    const long = `a = '${'x'.repeat(MESSAGING_LIMITS.filterExpressionLengthMax)}'`;
    expect(problemOf(long)).toMatch(/characters long; the limit is 4096/);
    const deep = `${'('.repeat(MESSAGING_LIMITS.filterNestingDepthMax + 1)}a = 1${')'.repeat(MESSAGING_LIMITS.filterNestingDepthMax + 1)}`;
    expect(problemOf(deep)).toMatch(/deeper than 64 levels/);
    const deepest = `${'('.repeat(MESSAGING_LIMITS.filterNestingDepthMax)}a = 1${')'.repeat(MESSAGING_LIMITS.filterNestingDepthMax)}`;
    expect(accepts(deepest, { a: '1' })).toBe(true);
    expect(problemOf('NOT '.repeat(MESSAGING_LIMITS.filterNestingDepthMax + 1) + 'a = 1')).toMatch(/deeper than 64 levels/);
  });

  describe('properties', () => {
    const names = ['a', 'b', 'c'];
    const arbLiteral: fc.Arbitrary<SqlLiteral> = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }).map((value) => ({ kind: 'number' as const, value })),
      fc.constantFrom('x', 'y', "it's", '10', '').map((value) => ({ kind: 'string' as const, value })),
      fc.boolean().map((value) => ({ kind: 'boolean' as const, value })),
    );
    const arbOperand: fc.Arbitrary<SqlOperand> = fc.oneof(
      fc.constantFrom(...names).map((name) => ({ kind: 'property' as const, name })),
      fc.record({ kind: fc.constant('signedProperty' as const), name: fc.constantFrom(...names), negated: fc.boolean() }),
      arbLiteral,
    );
    const arbCondition: fc.Arbitrary<SqlCondition> = fc.letrec<{ condition: SqlCondition }>((tie) => ({
      condition: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ kind: fc.constant('compare' as const), operator: fc.constantFrom('=' as const, '<>' as const), left: arbOperand, right: arbOperand }),
        fc.record({ kind: fc.constant('compare' as const), operator: fc.constantFrom('<' as const, '<=' as const, '>' as const, '>=' as const), left: arbOperand.filter((o) => o.kind !== 'boolean'), right: arbOperand.filter((o) => o.kind !== 'boolean') }),
        fc.record({ kind: fc.constant('between' as const), value: arbOperand.filter((o) => o.kind !== 'boolean'), low: arbOperand.filter((o) => o.kind !== 'boolean'), high: arbOperand.filter((o) => o.kind !== 'boolean'), negated: fc.boolean() }),
        fc.record({ kind: fc.constant('in' as const), value: arbOperand, list: fc.array(arbLiteral, { minLength: 1, maxLength: 3 }), negated: fc.boolean() }),
        fc.record({ kind: fc.constant('isNull' as const), value: arbOperand, negated: fc.boolean() }),
        fc.record({
          kind: fc.constant('text' as const), operator: fc.constantFrom('contains' as const, 'startsWith' as const, 'endsWith' as const),
          value: fc.constantFrom(...names).map((name) => ({ kind: 'property' as const, name })), pattern: fc.constantFrom('', 'x', "it's", '1'), negated: fc.boolean(),
        }),
        fc.boolean().map((value) => ({ kind: 'constant' as const, value })),
        fc.record({ kind: fc.constant('not' as const), operand: tie('condition') }),
        fc.record({ kind: fc.constantFrom('and' as const, 'or' as const), operands: fc.array(tie('condition'), { minLength: 2, maxLength: 3 }) }),
      ),
    })).condition;
    const arbProperties = fc.record({ a: fc.option(fc.constantFrom('x', '10', '-3', 'true', "it's", '')), b: fc.option(fc.integer({ min: -5, max: 5 }).map(String)), c: fc.option(fc.constantFrom('y', 'FALSE', '2.5')) }, { requiredKeys: [] });
    const lookupOf = (properties: Partial<Record<string, string | null>>) => (name: string) => properties[name] ?? undefined;

    it('parses what it prints: parse(print(condition)) is the condition', () => {
      fc.assert(fc.property(arbCondition, (condition) => expect(parseSql(print(condition))).toEqual(normalize(condition))), { numRuns: 500, seed: FC_SEED });
    });

    it('follows three-valued logic: NOT flips TRUE and FALSE and keeps UNKNOWN; De Morgan holds', () => {
      fc.assert(
        fc.property(arbCondition, arbCondition, arbProperties, (p, q, properties) => {
          const lookup = lookupOf(properties);
          const truth = evaluateSql(p, lookup);
          expect(evaluateSql({ kind: 'not', operand: p }, lookup)).toBe(truth === undefined ? undefined : !truth);
          expect(evaluateSql({ kind: 'not', operand: { kind: 'and', operands: [p, q] } }, lookup)).toBe(
            evaluateSql({ kind: 'or', operands: [{ kind: 'not', operand: p }, { kind: 'not', operand: q }] }, lookup),
          );
        }),
        { numRuns: 500, seed: FC_SEED },
      );
    });

    it('agrees with number comparison for numeric properties, and BETWEEN / IN with their expansions', () => {
      fc.assert(
        fc.property(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), (value, x, y) => {
          const properties = { n: String(value) };
          expect(accepts(`n > ${x}`, properties)).toBe(value > x);
          expect(accepts(`n <= ${x}`, properties)).toBe(value <= x);
          expect(accepts(`n BETWEEN ${x} AND ${y}`, properties)).toBe(accepts(`n >= ${x} AND n <= ${y}`, properties));
          expect(accepts(`n IN (${x}, ${y})`, properties)).toBe(accepts(`n = ${x} OR n = ${y}`, properties));
        }),
        { numRuns: 500, seed: FC_SEED },
      );
    });

    it('agrees with String includes / startsWith / endsWith, and NOT <op> is the negation when the property exists', () => {
      const text = fc.string({ unit: fc.constantFrom('a', 'b', "'", ' '), maxLength: 6 });
      fc.assert(
        fc.property(text, text, (value, pattern) => {
          const literal = `'${pattern.replace(/'/g, "''")}'`;
          const properties = { s: value };
          expect(accepts(`s CONTAINS ${literal}`, properties)).toBe(value.includes(pattern));
          expect(accepts(`s STARTSWITH ${literal}`, properties)).toBe(value.startsWith(pattern));
          expect(accepts(`s ENDSWITH ${literal}`, properties)).toBe(value.endsWith(pattern));
          for (const operator of ['CONTAINS', 'STARTSWITH', 'ENDSWITH']) {
            expect(accepts(`s NOT ${operator} ${literal}`, properties)).toBe(!accepts(`s ${operator} ${literal}`, properties));
          }
        }),
        { numRuns: 300, seed: FC_SEED },
      );
    });

    it('refuses any garbage with ILLEGAL_FILTER_EXPRESSION and a position inside the text, never another error', () => {
      const alphabet = fc.constantFrom(...'ab1 =<>()\',.-+ANDORNOTINISBETWEENULLTRUEFALSE#'.split(''), 'CONTAINS', 'STARTSWITH', 'ENDSWITH');
      fc.assert(
        fc.property(fc.array(alphabet, { maxLength: 40 }).map((chars) => chars.join('')), (text) => {
          try {
            parseSql(text);
          } catch (error) {
            expect(error).toBeInstanceOf(RmqError);
            expect((error as RmqError).code).toBe('ILLEGAL_FILTER_EXPRESSION');
            const position = /position (\d+)/.exec((error as RmqError).message);
            if (position) expect(Number(position[1])).toBeLessThanOrEqual(text.length + 1);
          }
        }),
        { numRuns: 1000, seed: FC_SEED },
      );
    });
  });
});

function printOperand(operand: SqlOperand): string {
  switch (operand.kind) {
    case 'property':
      return operand.name;
    case 'signedProperty':
      return `${operand.negated ? '-' : '+'}${operand.name}`;
    case 'number':
      return String(operand.value);
    case 'string':
      return `'${operand.value.replace(/'/g, "''")}'`;
    case 'boolean':
      return operand.value ? 'TRUE' : 'FALSE';
  }
}

function print(condition: SqlCondition): string {
  switch (condition.kind) {
    case 'constant':
      return condition.value ? 'TRUE' : 'FALSE';
    case 'and':
    case 'or':
      return condition.operands.map((operand) => `(${print(operand)})`).join(` ${condition.kind.toUpperCase()} `);
    case 'not':
      return `NOT (${print(condition.operand)})`;
    case 'compare':
      return `${printOperand(condition.left)} ${condition.operator} ${printOperand(condition.right)}`;
    case 'between':
      return `${printOperand(condition.value)} ${condition.negated ? 'NOT ' : ''}BETWEEN ${printOperand(condition.low)} AND ${printOperand(condition.high)}`;
    case 'in':
      return `${printOperand(condition.value)} ${condition.negated ? 'NOT ' : ''}IN (${condition.list.map(printOperand).join(', ')})`;
    case 'isNull':
      return `${printOperand(condition.value)} IS ${condition.negated ? 'NOT ' : ''}NULL`;
    case 'text':
      return `${printOperand(condition.value)} ${condition.negated ? 'NOT ' : ''}${condition.operator.toUpperCase()} ${printOperand({ kind: 'string', value: condition.pattern })}`;
  }
}

/** -0 prints as 0. */
function normalize(condition: SqlCondition): SqlCondition {
  return JSON.parse(JSON.stringify(condition), (_key, value) => (Object.is(value, -0) ? 0 : value)) as SqlCondition;
}
