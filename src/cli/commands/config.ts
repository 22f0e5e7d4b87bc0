// `brainstem validate` and `brainstem config-schema`.
import { z } from 'zod';
import { configSchema, connectorBase } from '../../config/schema.js';
import { PluginRegistry } from '../../plugin/registry.js';
import { loadConfigOrExit, printJson, type Command } from '../common.js';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check the config file; exit 0 when valid, 1 with one line per problem',
  usage: 'brainstem validate [-c FILE]',
  options: {},
  async run({ configPath }) {
    const loaded = await loadConfigOrExit(configPath);
    const c = loaded.config;
    process.stdout.write(`${configPath}: valid — ${loaded.connectors.length} connector(s) `
      + `(${loaded.connectors.map((x) => `${x.config.name}:${x.config.type}`).join(', ') || 'none'}), `
      + `${c.receivers.length} receiver(s), ${c.digests.length} digest(s), store ${c.storage.path}\n`);
  },
};

/** The JSON Schema of the config, with each built-in connector type's options. */
export async function buildJsonSchema(registry = new PluginRegistry()): Promise<Record<string, unknown>> {
  const opts = { io: 'input', unrepresentable: 'any' } as const;
  const root = z.toJSONSchema(configSchema, opts) as Record<string, any>;
  const base = z.toJSONSchema(connectorBase, opts) as Record<string, any>;
  const variants = [];
  for (const type of registry.builtinTypes()) {
    const plugin = await registry.resolve(type, undefined, process.cwd());
    const own = z.toJSONSchema(plugin.schema, opts) as Record<string, any>;
    variants.push({
      type: 'object',
      description: plugin.description,
      properties: { ...base.properties, ...own.properties, type: { const: type } },
      required: ['name', 'type', ...(own.required ?? [])],
      additionalProperties: false,
    });
  }
  variants.push({ ...base, description: 'A third-party connector (plugin: path or package)', required: ['name', 'type', 'plugin'], additionalProperties: true });
  root.properties.connectors = { type: 'array', items: { anyOf: variants } };
  root.$id = 'https://brainstem.invalid/config.schema.json';
  root.title = 'brainstem configuration';
  return root;
}

export const configSchemaCommand: Command = {
  name: 'config-schema',
  summary: 'print the JSON Schema of the config file (for editors)',
  usage: 'brainstem config-schema',
  options: {},
  async run() {
    printJson(await buildJsonSchema());
  },
};
