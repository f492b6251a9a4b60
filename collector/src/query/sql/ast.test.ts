import { describe, expect, it } from 'vitest';
import { AstParseError, parseExplainAst } from './ast.js';

describe('parseExplainAst', () => {
  it('reads types, names without aliases, and children', () => {
    const ast = parseExplainAst(
      ['SelectWithUnionQuery (children 1)', ' ExpressionList (children 1)', '  SelectQuery (children 1)', '   ExpressionList (children 1)', '    Function file (alias x) (children 1)', '     ExpressionList'].join('\n'),
    );
    const fn = ast.children[0]!.children[0]!.children[0]!.children[0]!;
    expect(fn).toMatchObject({ type: 'Function', text: 'file' });
    expect(fn.children).toHaveLength(1);
  });

  it('refuses lines faked by an identifier holding a newline (depth or child counts disagree)', () => {
    // SELECT `a\nFunction lower (children 1)`(1), as EXPLAIN AST prints it.
    const faked = ['SelectWithUnionQuery (children 1)', ' ExpressionList (children 1)', '  SelectQuery (children 1)', '   ExpressionList (children 1)', '    Function a', 'Function lower (children 1) (children 1)', '     ExpressionList (children 1)', '      Literal UInt64_1'];
    expect(() => parseExplainAst(faked.join('\n'))).toThrow(AstParseError);
  });
});
