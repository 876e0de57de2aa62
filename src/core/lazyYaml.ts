// The YAML library, loaded on first use: most installs never read a YAML config file or a lab
// topology, and loading it at start costs several MB of resident memory for nothing.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let yaml: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  // require, not import(): the callers (config loading, topology parsing) are synchronous.
  yaml ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yaml;
}
