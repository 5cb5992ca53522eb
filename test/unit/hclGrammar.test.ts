import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as oniguruma from 'vscode-oniguruma';
import { INITIAL, parseRawGrammar, Registry, type IGrammar, type StateStack } from 'vscode-textmate';
import { REPO_ROOT } from '../helpers/paths';

/**
 * The HCL language the extension contributes to VS Code (package.json, languages/). The grammar
 * is run as VS Code runs it: vscode-textmate over the Oniguruma regex engine (WASM). What the
 * tokens must be follows HCL's native syntax (hashicorp/hcl hclsyntax spec): `#`, `//` and
 * `/* *\/` comments; the escapes \n \r \t \" \\ \uNNNN \UNNNNNNNN in quoted strings; `${`
 * interpolations and `%{` directives, with `$${` and `%%{` for the literal text; heredocs
 * `<<ID` / `<<-ID` closed by a line holding only ID (indented or not), without backslash escapes;
 * true, false and null; identifiers with letters, digits, `_` and `-`.
 */

interface Token { line: number; text: string; scopes: string[] }

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  contributes: { languages: { id: string; extensions: string[]; aliases: string[]; configuration: string }[]; grammars: { language: string; scopeName: string; path: string }[] };
};
const language = manifest.contributes.languages.find((l) => l.id === 'hcl');
const grammarEntry = manifest.contributes.grammars.find((g) => g.language === 'hcl');

let grammar: IGrammar;

function tokenize(source: string): Token[] {
  let stack: StateStack = INITIAL;
  const tokens: Token[] = [];
  source.split('\n').forEach((text, line) => {
    const result = grammar.tokenizeLine(text, stack);
    for (const token of result.tokens) tokens.push({ line, text: text.slice(token.startIndex, token.endIndex), scopes: token.scopes });
    stack = result.ruleStack;
  });
  return tokens;
}

/** The scopes of the `nth` token whose text is `text` (tokens of equal text on one line count separately). */
function scopesOf(tokens: Token[], text: string, nth = 0): string[] {
  const found = tokens.filter((t) => t.text === text)[nth];
  assert.ok(found, `no token ${JSON.stringify(text)} (#${nth}) among ${JSON.stringify(tokens.map((t) => t.text))}`);
  return found.scopes;
}

describe('the HCL language contributed to VS Code', () => {
  before(async () => {
    await oniguruma.loadWASM(readFileSync(join(REPO_ROOT, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm')));
    const registry = new Registry({
      onigLib: Promise.resolve({ createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns), createOnigString: (text) => new oniguruma.OnigString(text) }),
      loadGrammar: async (scopeName) => {
        if (scopeName !== 'source.hcl' || !grammarEntry) return null;
        const path = join(REPO_ROOT, grammarEntry.path);
        return parseRawGrammar(readFileSync(path, 'utf8'), path);
      },
    });
    const loaded = await registry.loadGrammar('source.hcl');
    assert.ok(loaded, 'the grammar source.hcl loads');
    grammar = loaded;
  });

  it('is declared for .hcl files with the id the HashiCorp HCL extension uses, and its grammar and configuration exist', () => {
    assert.ok(language, 'contributes.languages has the id hcl');
    assert.deepEqual(language.extensions, ['.hcl']);
    assert.ok(language.aliases.includes('HCL'));
    assert.ok(existsSync(join(REPO_ROOT, language.configuration)), language.configuration);
    assert.ok(grammarEntry, 'contributes.grammars has a grammar for hcl');
    assert.equal(grammarEntry.scopeName, 'source.hcl');
    const raw = JSON.parse(readFileSync(join(REPO_ROOT, grammarEntry.path), 'utf8')) as { scopeName: string };
    assert.equal(raw.scopeName, grammarEntry.scopeName);
    const activation = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { activationEvents: string[] }).activationEvents;
    assert.ok(activation.includes('onLanguage:hcl'));
  });

  it('compiles every regex of the grammar with Oniguruma', () => {
    const raw = readFileSync(join(REPO_ROOT, grammarEntry!.path), 'utf8');
    const patterns: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          // an end pattern's \N is the text its begin captured: vscode-textmate puts it in before compiling
          if ((key === 'match' || key === 'begin' || key === 'end' || key === 'while') && typeof value === 'string') patterns.push(key === 'end' ? value.replace(/\\(\d)/g, 'EOT') : value);
          else walk(value);
        }
      }
    };
    walk(JSON.parse(raw));
    assert.ok(patterns.length > 30, `${patterns.length} patterns`);
    for (const pattern of patterns) assert.doesNotThrow(() => new oniguruma.OnigScanner([pattern]).dispose(), pattern);
  });

  // [what, source, token text, nth token with that text, scope it must have, scope it must not have]
  const cases: [string, string, string, number, string, string?][] = [
    ['a # comment', '# consul config write api.hcl\nKind = "service-intentions"', ' consul config write api.hcl', 0, 'comment.line.number-sign.hcl'],
    ['the # of a comment', '# consul config write api.hcl\nKind = "service-intentions"', '#', 0, 'punctuation.definition.comment.hcl'],
    ['the line after a # comment', '# consul config write api.hcl\nKind = "service-intentions"', 'Kind', 0, 'variable.other.property.hcl', 'comment.line.number-sign.hcl'],
    ['a // comment', 'Name = "api" // the destination', ' the destination', 0, 'comment.line.double-slash.hcl'],
    ['the // of a comment', 'Name = "api" // the destination', '//', 0, 'punctuation.definition.comment.hcl'],
    ['a /* */ comment over two lines', '/* first\nsecond */ Name = "api"', 'second ', 0, 'comment.block.hcl'],
    ['the code after a block comment', '/* first\nsecond */ Name = "api"', 'Name', 0, 'variable.other.property.hcl', 'comment.block.hcl'],
    ['# inside a string', 'Path = "/v1/#anchor"', '/v1/#anchor', 0, 'string.quoted.double.hcl', 'comment.line.number-sign.hcl'],
    ['an attribute name', 'Kind = "service-intentions"', 'Kind', 0, 'variable.other.property.hcl'],
    ['an attribute\'s =', 'Kind = "service-intentions"', '=', 0, 'keyword.operator.assignment.hcl'],
    ['a string value', 'Kind = "service-intentions"', 'service-intentions', 0, 'string.quoted.double.hcl'],
    ['the opening quote', 'Kind = "service-intentions"', '"', 0, 'punctuation.definition.string.begin.hcl'],
    ['a block type', 'Sources {\n  Name = "web"\n}', 'Sources', 0, 'entity.name.type.block.hcl'],
    ['an attribute inside a block', 'Sources {\n  Name = "web"\n}', 'Name', 0, 'variable.other.property.hcl'],
    ['a block\'s closing brace', 'Sources {\n  Name = "web"\n}', '}', 0, 'punctuation.section.block.end.hcl'],
    ['a quoted block label', 'service "web" {\n}', '"web"', 0, 'entity.name.label.hcl'],
    ['a bare block label', 'resource aws_instance {\n}', 'aws_instance', 0, 'entity.name.label.hcl'],
    ['a nested block in an object (Consul\'s HCL 1)', 'Permissions = [\n  {\n    HTTP {\n      PathPrefix = "/v1/"\n    }\n  },\n]', 'HTTP', 0, 'entity.name.type.block.hcl'],
    ['a key in an object of a list', 'Header = [\n  { Name = "x-team", Exact = "sre" },\n]', 'Exact', 0, 'variable.other.property.hcl'],
    ['the \\n escape', 'Text = "a\\nb"', '\\n', 0, 'constant.character.escape.hcl'],
    ['the \\" escape, which does not end the string', 'Text = "say \\"hi\\" now"', ' now', 0, 'string.quoted.double.hcl'],
    ['a \\u escape', 'Text = "\\u00e9t\\u00e9"', '\\u00e9', 0, 'constant.character.escape.hcl'],
    ['a \\U escape', 'Text = "\\U0001F600"', '\\U0001F600', 0, 'constant.character.escape.hcl'],
    ['an interpolation\'s opening', 'Name = "api-${var.env}"', '${', 0, 'punctuation.section.interpolation.begin.hcl'],
    ['a variable in an interpolation', 'Name = "api-${var.env}"', 'var', 0, 'meta.interpolation.hcl'],
    ['an attribute of a variable in an interpolation', 'Name = "api-${var.env}"', 'env', 0, 'variable.other.member.hcl'],
    ['the string after an interpolation', 'Name = "${a}-api"', '-api', 0, 'string.quoted.double.hcl', 'meta.interpolation.hcl'],
    ['$${, the literal ${', 'Text = "$${not.this}"', '$${', 0, 'constant.character.escape.template.hcl', 'meta.interpolation.hcl'],
    ['%%{, the literal %{', 'Text = "%%{nor}"', '%%{', 0, 'constant.character.escape.template.hcl', 'meta.directive.hcl'],
    ['a directive keyword', 'Text = "%{ if a }yes%{ endif }"', 'if', 0, 'keyword.control.directive.hcl'],
    ['a heredoc\'s marker', 'Body = <<EOT\nhello ${name}\n  EOT\nNext = 1', 'EOT', 0, 'keyword.control.heredoc.hcl'],
    ['a heredoc\'s text', 'Body = <<EOT\nhello ${name}\n  EOT\nNext = 1', 'hello ', 0, 'string.unquoted.heredoc.hcl'],
    ['an interpolation in a heredoc', 'Body = <<EOT\nhello ${name}\n  EOT\nNext = 1', 'name', 0, 'meta.interpolation.hcl'],
    ['an indented closing marker', 'Body = <<EOT\nhello ${name}\n  EOT\nNext = 1', 'EOT', 1, 'keyword.control.heredoc.hcl'],
    ['the attribute after a heredoc', 'Body = <<EOT\nhello ${name}\n  EOT\nNext = 1', 'Next', 0, 'variable.other.property.hcl', 'string.unquoted.heredoc.hcl'],
    ['a line ending in the marker, which does not close', 'Body = <<-EOT\n    NOT EOT\n  EOT', '    NOT EOT', 0, 'string.unquoted.heredoc.hcl'],
    ['no backslash escape in a heredoc', 'Body = <<EOT\na\\nb\nEOT', 'a\\nb', 0, 'string.unquoted.heredoc.hcl', 'constant.character.escape.hcl'],
    ['an integer', 'Port = 8080', '8080', 0, 'constant.numeric.integer.hcl'],
    ['a fraction with an exponent', 'Ratio = 1.5e-3', '1.5e-3', 0, 'constant.numeric.float.hcl'],
    ['a number after a minus', 'Delta = 5-3', '3', 0, 'constant.numeric.integer.hcl'],
    ['true', 'Enabled = true', 'true', 0, 'constant.language.boolean.hcl'],
    ['false', 'Enabled = false', 'false', 0, 'constant.language.boolean.hcl'],
    ['null', 'Meta = null', 'null', 0, 'constant.language.null.hcl'],
    ['an identifier that starts with true', 'Mode = true-ish', 'true-ish', 0, 'variable.other.readwrite.hcl', 'constant.language.boolean.hcl'],
    ['==, which is no attribute', 'Same = a == b', '==', 0, 'keyword.operator.comparison.hcl'],
    ['the name before ==', 'Same = a == b', 'a', 0, 'variable.other.readwrite.hcl', 'variable.other.property.hcl'],
    ['&&', 'Both = a && !b', '&&', 0, 'keyword.operator.logical.hcl'],
    ['!', 'Both = a && !b', '!', 0, 'keyword.operator.logical.hcl'],
    ['a conditional', 'Pick = a ? 1 : 2', '?', 0, 'keyword.operator.conditional.hcl'],
    ['arithmetic', 'Sum = a + 2', '+', 0, 'keyword.operator.arithmetic.hcl'],
    ['a for expression\'s keyword', 'Names = [for s in list : upper(s)]', 'for', 0, 'keyword.control.hcl'],
    ['in', 'Names = [for s in list : upper(s)]', 'in', 0, 'keyword.control.hcl'],
    ['=> in an object for expression', 'ByName = {for s in list : s.name => s}', '=>', 0, 'keyword.operator.arrow.hcl'],
    ['a function call', 'Names = [for s in list : upper(s)]', 'upper', 0, 'support.function.hcl'],
    ['a list\'s bracket', 'Methods = ["GET", "HEAD"]', '[', 0, 'punctuation.section.brackets.begin.hcl'],
    ['a comma', 'Methods = ["GET", "HEAD"]', ',', 0, 'punctuation.separator.comma.hcl'],
    ['a string in a list', 'Methods = ["GET", "HEAD"]', 'HEAD', 0, 'string.quoted.double.hcl'],
    ['an ellipsis', 'All = concat(lists...)', '...', 0, 'keyword.operator.ellipsis.hcl'],
  ];
  for (const [what, source, text, nth, scope, notScope] of cases) {
    it(`scopes ${what}`, () => {
      const scopes = scopesOf(tokenize(source), text, nth);
      assert.ok(scopes.includes(scope), `${JSON.stringify(text)} in ${JSON.stringify(source)}: ${scopes.join(' ')}`);
      assert.equal(scopes[0], 'source.hcl');
      if (notScope) assert.ok(!scopes.includes(notScope), `${JSON.stringify(text)} is not ${notScope}: ${scopes.join(' ')}`);
    });
  }

  it('reads every example Consul config entry with balanced scopes: nothing left open at the end', () => {
    const folder = join(REPO_ROOT, 'examples', 'consul', 'config');
    for (const name of ['api.hcl', 'api-defaults.hcl', 'counting.hcl']) {
      let stack: StateStack = INITIAL;
      for (const text of readFileSync(join(folder, name), 'utf8').split('\n')) stack = grammar.tokenizeLine(text, stack).ruleStack;
      const last = grammar.tokenizeLine('Final = 1', stack).tokens[0]!;
      assert.deepEqual(last.scopes, ['source.hcl', 'variable.other.property.hcl'], `${name}: a line after the file starts at the top level`);
    }
  });
});

describe('the HCL language configuration', () => {
  const configuration = JSON.parse(readFileSync(join(REPO_ROOT, 'languages', 'hcl.language-configuration.json'), 'utf8')) as {
    comments: { lineComment: string; blockComment: [string, string] };
    brackets: [string, string][];
    autoClosingPairs: { open: string; close: string; notIn?: string[] }[];
    indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  };

  it('toggles # line comments and /* */ block comments, and pairs the brackets and quotes', () => {
    assert.equal(configuration.comments.lineComment, '#');
    assert.deepEqual(configuration.comments.blockComment, ['/*', '*/']);
    assert.deepEqual(configuration.brackets, [['{', '}'], ['[', ']'], ['(', ')']]);
    assert.deepEqual(configuration.autoClosingPairs.map((p) => p.open + p.close), ['{}', '[]', '()', '""']);
    assert.deepEqual(configuration.autoClosingPairs.find((p) => p.open === '"')?.notIn, ['string', 'comment']);
  });

  // VS Code runs these as JavaScript regular expressions.
  const indentCases: [string, boolean, boolean][] = [
    ['Sources {', true, false],
    ['  Permissions = [', true, false],
    ['  Permissions = [   # the L7 rules', true, false],
    ['  upper(', true, false],
    ['  Name = "web"', false, false],
    ['# a comment ending in {', false, false],
    ['  }', false, true],
    ['  ],', false, true],
  ];
  for (const [line, increases, decreases] of indentCases) {
    it(`indents after ${JSON.stringify(line)}: ${increases ? 'more' : 'not more'}, ${decreases ? 'less' : 'not less'}`, () => {
      assert.equal(new RegExp(configuration.indentationRules.increaseIndentPattern).test(line), increases);
      assert.equal(new RegExp(configuration.indentationRules.decreaseIndentPattern).test(line), decreases);
    });
  }
});
