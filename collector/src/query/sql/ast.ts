/**
 * The engine's own AST of a statement, as `EXPLAIN AST` prints it: one node a line, indented by
 * one space per level, `Type [name] [(alias a)] [(children N)]`. Parsed strictly: every line's
 * depth and every declared child count must agree, or the text is refused (an identifier holding
 * a newline is printed raw and could otherwise fake lines).
 */
export interface AstNode {
  /** `SelectQuery`, `Function`, `TableIdentifier`, `Literal`, … */
  type: string;
  /** What follows the type, without alias and child count: a function's or table's name, a literal. */
  text: string;
  children: AstNode[];
}

export class AstParseError extends Error {
  override name = 'AstParseError';
}

const LINE = /^( *)([A-Za-z][A-Za-z0-9_:]*)(?: (.*))?$/;
const CHILDREN = / ?\(children (\d+)\)$/;

export function parseExplainAst(output: string): AstNode {
  const lines = output.replace(/\n+$/, '').split('\n');
  const stack: Array<{ node: AstNode; depth: number; declared: number }> = [];
  let root: AstNode | undefined;
  for (const line of lines) {
    const counted = CHILDREN.exec(line);
    const match = LINE.exec(counted ? line.slice(0, counted.index) : line);
    if (!match) throw new AstParseError(`unexpected line in the parsed statement: ${JSON.stringify(line.slice(0, 80))}`);
    const depth = match[1]!.length;
    const node: AstNode = { type: match[2]!, text: stripAlias(match[3] ?? ''), children: [] };
    const declared = counted ? Number(counted[1]) : 0;
    while (stack.length > 0 && stack[stack.length - 1]!.depth >= depth) close(stack.pop()!);
    if (stack.length === 0) {
      if (root !== undefined || depth !== 0) throw new AstParseError('the parsed statement has more than one root');
      root = node;
    } else {
      const parent = stack[stack.length - 1]!;
      if (depth !== parent.depth + 1) throw new AstParseError('the parsed statement is not a well-formed tree');
      parent.node.children.push(node);
    }
    stack.push({ node, depth, declared });
  }
  while (stack.length > 0) close(stack.pop()!);
  if (!root) throw new AstParseError('the parsed statement is empty');
  return root;
}

function close(entry: { node: AstNode; declared: number }): void {
  if (entry.node.children.length !== entry.declared) throw new AstParseError('the parsed statement is not a well-formed tree');
}

/** `file (alias x)` → `file`. */
function stripAlias(text: string): string {
  return text.replace(/(?:^| )\(alias [^)]*\)$/, '');
}
