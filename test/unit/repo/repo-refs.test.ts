/**
 * The repository stands on its own: no tracked file refers to documents that live outside it, and
 * every relative link of a markdown file leads to a file of the repository (and, with a `#`, to an
 * anchor there). What the design and the stream contract say is in docs/design.md and
 * docs/stream-contract.md; code and docs cite those.
 *
 * The patterns below are written so that this file does not match them itself.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** Words that name documents outside the repository, and what to cite instead. */
const OUTSIDE: { pattern: RegExp; instead: string }[] = [
  // The design document by its outside name (upper case); ours is docs/design.md.
  { pattern: /\bDESIGN\.md\b/, instead: 'docs/design.md' },
  // The seed documents the project started from; the stream contract is docs/stream-contract.md.
  { pattern: /\bseeds?[ -]?0\d\d\b/i, instead: 'docs/stream-contract.md (or words)' },
  { pattern: /\.\.\/shared\b/, instead: 'a path inside the repository' },
  { pattern: /\/work\/(shared|main|wt-)/, instead: 'a path inside the repository' },
];

/** `[text](target)` and `[text](target "title")`; images too. */
const MARKDOWN_LINK = /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

interface Problem {
  at: string;
  what: string;
}

function trackedTextFiles(): { path: string; text: string }[] {
  const names = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\0')
    .filter(Boolean);
  const out: { path: string; text: string }[] = [];
  for (const name of names) {
    const full = join(ROOT, name);
    if (!existsSync(full) || !statSync(full).isFile()) continue; // deleted in the work tree
    const buf = readFileSync(full);
    if (buf.includes(0)) continue; // binary
    out.push({ path: name, text: buf.toString('utf8') });
  }
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_~]/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map<string, Set<string>>();
/** The anchors a markdown file defines: its headings' slugs and explicit `id="…"`s. */
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    anchors = new Set();
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/^#{1,6}\s+(.*)$/gm)) anchors.add(slug(m[1]!));
    for (const m of text.matchAll(/\b(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
    anchorCache.set(file, anchors);
  }
  return anchors;
}

/** The problems of one file's text: outside references, and links leaving or missing. */
function problemsOf(path: string, text: string, root: string): Problem[] {
  const problems: Problem[] = [];
  const markdown = path.endsWith('.md');
  const lines = text.split('\n');
  // Links in markdown prose only: code blocks and code spans are blanked (line numbers kept).
  const blank = (m: string) => m.replace(/[^\n]/g, ' ');
  const prose = markdown ? text.replace(/```[\s\S]*?```/g, blank).replace(/`[^`\n]*`/g, blank) : text;
  const proseLines = prose.split('\n');
  lines.forEach((line, i) => {
    const at = `${path}:${i + 1}`;
    for (const { pattern, instead } of OUTSIDE) {
      const m = pattern.exec(line);
      if (m) problems.push({ at, what: `refers outside the repository ("${m[0]}"); cite ${instead}` });
    }
    for (const m of (proseLines[i] ?? '').matchAll(MARKDOWN_LINK)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto: …
      // Outside markdown, only path-like targets are links (`fns[0](x)` is code).
      if (!markdown && !target.startsWith('./') && !target.startsWith('../')) continue;
      const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
      const file = pathPart === '' ? join(root, path) : resolve(root, dirname(path), pathPart.split('?')[0]!);
      const rel = relative(root, file);
      if (rel === '..' || rel.startsWith(`..${sep}`)) {
        problems.push({ at, what: `links outside the repository: ${target}` });
        continue;
      }
      if (!existsSync(file)) {
        problems.push({ at, what: `links to a file that does not exist: ${target}` });
        continue;
      }
      if (fragment && file.endsWith('.md') && !anchorsOf(file).has(fragment)) {
        problems.push({ at, what: `links to an anchor that ${rel} does not have: ${target}` });
      }
    }
  });
  return problems;
}

test('no tracked file refers to documents outside the repository; relative markdown links resolve', () => {
  const files = trackedTextFiles();
  expect(files.length).toBeGreaterThan(100);
  expect(files.some((f) => f.path === 'docs/stream-contract.md')).toBe(true);
  const problems = files.flatMap((f) => problemsOf(f.path, f.text, ROOT));
  const report = problems.map((p) => `${p.at}: ${p.what}`).join('\n');
  expect(problems, `references leaving the repository or broken:\n${report}`).toEqual([]);
});

test('the checker finds outside references, links leaving the repository, and broken links', () => {
  // Built from pieces, so that this file's own text holds none of them.
  const outside = ['DESIGN', 'md'].join('.');
  const link = (text: string, target: string) => `[${text}]${'('}${target})`;
  const sample = [
    `see ${outside} invariant 2`,
    `the ${'seed'} ${'004'} contract`,
    `${link('x', `../../${'shared'}/x.md`)} and ${link('y', '../outside.md')}`,
    `${link('ok', 'docs/design.md#layers')} ${link('anchor', 'docs/design.md#no-such-anchor')} ${link('gone', 'docs/nothing.md')}`,
    `docs/design.md is fine, and so is \`${link('fns[0', 'arg')}\` in code`,
  ].join('\n');
  const found = problemsOf('README.md', sample, ROOT).map(
    (p) => `${p.at} ${p.what.split(' (')[0]!.split(':')[0]}`,
  );
  expect(found).toEqual([
    'README.md:1 refers outside the repository',
    'README.md:2 refers outside the repository',
    'README.md:3 refers outside the repository',
    'README.md:3 links outside the repository',
    'README.md:3 links outside the repository',
    'README.md:4 links to an anchor that docs/design.md does not have',
    'README.md:4 links to a file that does not exist',
  ]);
  // In code, only path-like targets are links.
  const code = `const y = fns[0]${'('}arg); // ${link('d', '../../../x.md')}`;
  expect(problemsOf('x.ts', code, ROOT).map((p) => p.what)).toEqual([
    'links outside the repository: ../../../x.md',
  ]);
});
