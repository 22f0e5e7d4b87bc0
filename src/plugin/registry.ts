// The plugin registry: built-in connectors are discovered in `plugins/<type>/index.(js|ts)`,
// third-party ones are loaded from a path (relative to the config file) or an npm package
// named by `plugin:`. The core reaches plugins only through here.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ConnectorPlugin } from './contract.js';

/** The built-in plugins folder: `plugins/` beside `src/` (in the source tree or in dist/). */
export const BUILTIN_DIR = fileURLToPath(new URL('../../plugins/', import.meta.url));

function isPlugin(v: unknown): v is ConnectorPlugin {
  const p = v as ConnectorPlugin;
  return !!p && typeof p === 'object' && typeof p.type === 'string' && typeof p.create === 'function'
    && !!p.schema && typeof (p.schema as { safeParse?: unknown }).safeParse === 'function';
}

export class PluginRegistry {
  private readonly cache = new Map<string, Promise<ConnectorPlugin>>();

  constructor(private readonly builtinDir = BUILTIN_DIR) {}

  /** Types of the built-in plugins present. */
  builtinTypes(): string[] {
    if (!existsSync(this.builtinDir)) return [];
    return readdirSync(this.builtinDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && this.entryOf(d.name) !== undefined)
      .map((d) => d.name)
      .sort();
  }

  private entryOf(type: string): string | undefined {
    for (const f of ['index.js', 'index.ts']) {
      const p = join(this.builtinDir, type, f);
      if (existsSync(p)) return p;
    }
    return undefined;
  }

  /** The plugin for a connector: `plugin` (path or package) when given, else the built-in `type`. */
  async resolve(type: string, plugin: string | undefined, baseDir: string): Promise<ConnectorPlugin> {
    let specifier: string;
    if (plugin) {
      if (plugin.startsWith('.') || isAbsolute(plugin)) {
        const p = resolve(baseDir, plugin);
        if (!existsSync(p)) throw new Error(`plugin file not found: ${p}`);
        specifier = pathToFileURL(p).href;
      } else {
        try {
          specifier = pathToFileURL(createRequire(join(baseDir, 'noop.js')).resolve(plugin)).href;
        } catch {
          throw new Error(`plugin package "${plugin}" is not installed (npm install ${plugin})`);
        }
      }
    } else {
      const entry = this.entryOf(type);
      if (!entry) {
        const known = this.builtinTypes();
        throw new Error(`unknown connector type "${type}" (built-in: ${known.join(', ') || 'none'}; a third-party plugin needs plugin: <path or package>)`);
      }
      specifier = pathToFileURL(entry).href;
    }
    let p = this.cache.get(specifier);
    if (!p) {
      p = import(specifier).then((mod) => {
        const candidate = mod.default ?? mod.plugin;
        if (!isPlugin(candidate)) throw new Error(`${plugin ?? type}: the module's default export is not a connector plugin ({ type, schema, create })`);
        return candidate;
      });
      this.cache.set(specifier, p);
    }
    const loaded = await p;
    if (plugin && loaded.type !== type) throw new Error(`plugin ${plugin} declares type "${loaded.type}", but the config says type "${type}"`);
    return loaded;
  }
}
