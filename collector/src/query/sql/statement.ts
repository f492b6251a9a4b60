import { ReadScopeError } from '../read-scope.js';
import type { AstNode } from './ast.js';
import { ALLOWED_TABLE_FUNCTIONS, type FunctionAllowList } from './functions.js';

/** A statement user SQL may not run: 400 with a message naming what is not allowed. */
export class SqlRefusedError extends Error {
  override name = 'SqlRefusedError';
  readonly statusCode = 400;
}

export interface StatementPolicy {
  functions: FunctionAllowList;
  /** FlowTrace tables this principal may name (unqualified). */
  allowedTables: ReadonlySet<string>;
  /** FlowTrace tables its read rules cannot be enforced on (403). */
  refusedTables: ReadonlySet<string>;
}

/** Nodes a plain SELECT is made of. Anything else (SETTINGS, APPLY, …) is refused by name. */
const SELECT_NODES: ReadonlySet<string> = new Set([
  'SelectWithUnionQuery',
  'SelectIntersectExceptQuery',
  'SelectQuery',
  'ExpressionList',
  'TablesInSelectQuery',
  'TablesInSelectQueryElement',
  'TableExpression',
  'TableIdentifier',
  'TableJoin',
  'ArrayJoin',
  'SampleRatio',
  'Subquery',
  'WithElement',
  'Function',
  'Identifier',
  'Literal',
  'Asterisk',
  'QualifiedAsterisk',
  'ColumnsRegexpMatcher',
  'QualifiedColumnsRegexpMatcher',
  'ColumnsListMatcher',
  'QualifiedColumnsListMatcher',
  'ColumnsTransformerList',
  'ColumnsExceptTransformer',
  'ColumnsReplaceTransformer',
  'ColumnsReplaceTransformer::Replacement',
  'OrderByElement',
  'InterpolateElement',
  'WindowDefinition',
  'WindowListElement',
]);

const NODE_MESSAGES: Record<string, string> = {
  Set: 'a SETTINGS clause is not allowed',
  ColumnsApplyTransformer: 'APPLY is not allowed',
  QueryParameter: 'query parameters are not allowed',
};

const STATEMENT_NAMES: Record<string, string> = {
  KillQueryQuery: 'KILL',
  Set: 'SET',
  Explain: 'EXPLAIN',
  CreateQuery: 'CREATE',
  InsertQuery: 'INSERT',
  AlterQuery: 'ALTER',
  DropQuery: 'DROP',
  DescribeQuery: 'DESCRIBE',
  UseQuery: 'USE',
  SystemQuery: 'SYSTEM',
};

/** `x IN t`: the right-hand side of these may name a table. */
const IN_FUNCTIONS = /^(global)?(not)?(null)?in(ignoreset)?$/i;

/**
 * Accepts one SELECT (WITH, UNION/INTERSECT/EXCEPT, subqueries, JOINs) over FlowTrace tables
 * named without a database, calling allowed functions only; throws SqlRefusedError naming the
 * first thing that is not allowed, or ReadScopeError for a table the principal's rules cannot
 * be enforced on.
 */
export function checkStatement(root: AstNode, policy: StatementPolicy): void {
  if (root.type !== 'SelectWithUnionQuery') {
    const what = STATEMENT_NAMES[root.type] ?? root.type.replace(/Query$/, '');
    throw new SqlRefusedError(`${what} is not allowed: only a single SELECT statement is`);
  }
  // The top level's extra children are the output clauses.
  for (const clause of root.children.slice(1)) {
    if (clause.type === 'Literal') throw new SqlRefusedError('INTO OUTFILE is not allowed');
    if (clause.type === 'Identifier') throw new SqlRefusedError(`FORMAT ${clause.text} is not allowed: results are always returned as JSON`);
    throw new SqlRefusedError(`${clause.type} after the SELECT is not allowed`);
  }
  const hasCte = someNode(root, (n) => n.type === 'WithElement');
  const check = (node: AstNode, parent: AstNode | undefined): void => {
    if (!SELECT_NODES.has(node.type)) throw new SqlRefusedError(NODE_MESSAGES[node.type] ?? `${node.type} is not allowed`);
    if (node.type === 'TableIdentifier') checkTable(node.text, policy, hasCte);
    if (node.type === 'Function') {
      if (parent?.type === 'TableExpression') {
        if (!ALLOWED_TABLE_FUNCTIONS.has(node.text)) throw new SqlRefusedError(`table function ${node.text}() is not allowed`);
      } else {
        if (!policy.functions.allows(node.text)) throw new SqlRefusedError(`function ${node.text}() is not allowed`);
        if (IN_FUNCTIONS.test(node.text)) {
          const rhs = node.children[0]?.children[1];
          if (rhs?.type === 'Identifier') checkTable(rhs.text, policy, true);
        }
      }
    }
    for (const child of node.children) check(child, node);
  };
  check(root, undefined);
}

function checkTable(name: string, policy: StatementPolicy, mayBeCte: boolean): void {
  if (name.includes('.')) throw new SqlRefusedError(`table ${name} is not allowed: name FlowTrace tables without a database (${[...policy.allowedTables, ...policy.refusedTables].join(', ')})`);
  if (policy.refusedTables.has(name)) throw new ReadScopeError(name);
  // Unknown names may be CTEs: the engine resolves them, and only CTEs and FlowTrace views exist where it looks.
  if (!policy.allowedTables.has(name) && !mayBeCte) throw new SqlRefusedError(`table ${name} is not allowed: the tables are ${[...policy.allowedTables].join(', ')}`);
}

function someNode(node: AstNode, test: (n: AstNode) => boolean): boolean {
  return test(node) || node.children.some((c) => someNode(c, test));
}
