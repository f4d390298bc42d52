import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * README.md and docs/*.md link to each other and to files of the repository: every relative link must lead to a
 * file that exists, and every `#anchor` into a markdown file to one of its headings, so moving text between pages
 * cannot leave a reader at a dead end.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The text outside fenced code blocks and inline code, where a `[x](y)` is a link. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/`[^`\n]*`/g, (code) => ' '.repeat(code.length));
}

/** Link targets: `[text](target)` and `![alt](target)`, without an optional title. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(match[1]!);
  }
  return targets;
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = match[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

describe('documentation links', () => {
  it('finds the pages to check', () => {
    assert.ok(PAGES.includes('README.md'));
    assert.ok(PAGES.length > 1, 'docs/*.md');
  });

  for (const page of PAGES) {
    it(`every relative link of ${page} leads somewhere`, () => {
      const source = readFileSync(join(ROOT, page), 'utf8');
      const broken: string[] = [];
      for (const target of linkTargets(source)) {
        if (isExternal(target)) continue;
        const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
        const file = pathPart === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), decodeURI(pathPart));
        if (!existsSync(file)) {
          broken.push(`${target}: no file ${relative(ROOT, file)}`);
          continue;
        }
        if (anchor === undefined || anchor === '') continue;
        if (!file.endsWith('.md') || statSync(file).isDirectory()) continue;
        if (!headingAnchors(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor).toLowerCase())) {
          broken.push(`${target}: no heading #${anchor} in ${relative(ROOT, file)}`);
        }
      }
      assert.deepEqual(broken, [], `broken links in ${page}`);
    });
  }

  it('reads links and headings as GitHub does', () => {
    assert.deepEqual(linkTargets('see [a](b.md#c) and `[not](a-link)`, ![img](d.png "title")'), ['b.md#c', 'd.png']);
    assert.deepEqual(linkTargets('```\n[not](a-link)\n```\n'), []);
    const anchors = headingAnchors('# Title\n## The deployed shape: `npm run test:compose`\n## Title\n');
    assert.deepEqual([...anchors], ['title', 'the-deployed-shape-npm-run-testcompose', 'title-1']);
  });
});
