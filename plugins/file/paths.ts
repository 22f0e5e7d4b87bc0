// Which files the connector tails: the configured globs split into the directories to watch
// (chokidar 5 watches directories, it has no globs) and a picomatch matcher for the files in them.
import { readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

export interface WatchRoot {
  /** Directory that holds every file the glob can match. */
  dir: string;
  /** How many directory levels below `dir` can match (undefined: any, for `**`). */
  depth: number | undefined;
  glob: string;
}

export interface ScanResult {
  files: string[];
  /** One line per problem: missing directory, unreadable directory, glob matching nothing. */
  problems: string[];
}

export class PathMatcher {
  readonly roots: WatchRoot[];
  private readonly include: (p: string) => boolean;
  private readonly exclude: (p: string) => boolean;

  constructor(paths: string[], exclude: string[], cwd = process.cwd()) {
    const abs = paths.map((p) => toPosix(path.resolve(cwd, p)));
    this.roots = abs.map((glob) => {
      const scan = picomatch.scan(glob);
      if (!scan.isGlob) return { dir: path.dirname(glob), depth: 0, glob };
      const dir = scan.base || '/';
      const depth = scan.glob.includes('**') ? undefined : scan.glob.split('/').length - 1;
      return { dir, depth, glob };
    });
    this.include = picomatch(abs);
    const ex = exclude.map((p) => toPosix(path.resolve(cwd, p)));
    this.exclude = ex.length > 0 ? picomatch(ex) : () => false;
  }

  matches(file: string): boolean {
    return this.include(file) && !this.exclude(file);
  }

  /** Deepest level to watch across all roots (undefined: unlimited). */
  get watchDepth(): number | undefined {
    let max = 0;
    for (const r of this.roots) {
      if (r.depth === undefined) return undefined;
      max = Math.max(max, r.depth);
    }
    return max;
  }

  /** List the files that match now, walking each root only as deep as its glob reaches. */
  scan(): ScanResult {
    const files = new Set<string>();
    const problems: string[] = [];
    for (const root of this.roots) {
      const before = files.size;
      const perGlob = picomatch(root.glob);
      const err = this.walk(root.dir, root.depth, (f) => {
        if (perGlob(f) && !this.exclude(f)) files.add(f);
      });
      if (err) problems.push(err);
      else if (files.size === before && !this.anyAlreadyFound(files, perGlob)) problems.push(`${root.glob}: no file matches`);
    }
    return { files: [...files], problems };
  }

  private anyAlreadyFound(files: Set<string>, perGlob: (p: string) => boolean): boolean {
    for (const f of files) if (perGlob(f)) return true;
    return false;
  }

  private walk(dir: string, depth: number | undefined, onFile: (f: string) => void): string | undefined {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return `directory ${dir} does not exist`;
      if (code === 'EACCES') return `directory ${dir} is not readable (permission denied)`;
      return `directory ${dir}: ${(e as Error).message}`;
    }
    for (const e of entries) {
      const full = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if (e.isFile() || e.isSymbolicLink()) onFile(full);
      if (e.isDirectory() && (depth === undefined || depth > 0)) this.walk(full, depth === undefined ? undefined : depth - 1, onFile);
    }
    return undefined;
  }
}

function toPosix(p: string): string {
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}
