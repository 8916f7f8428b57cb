// The yaml package takes about 50 ms to load, a third of a whole `orlojctl get`: it is loaded
// on first use, so calls that print tables or JSON never pay for it. Same functions, same types.
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');

let loaded: Yaml | undefined;
const yaml = (): Yaml => (loaded ??= createRequire(import.meta.url)('yaml') as Yaml);

export const stringify: Yaml['stringify'] = ((...a: Parameters<Yaml['stringify']>) => yaml().stringify(...a)) as Yaml['stringify'];
export const parse: Yaml['parse'] = ((...a: Parameters<Yaml['parse']>) => yaml().parse(...a)) as Yaml['parse'];
export const parseAllDocuments: Yaml['parseAllDocuments'] = ((...a: Parameters<Yaml['parseAllDocuments']>) =>
  yaml().parseAllDocuments(...a)) as Yaml['parseAllDocuments'];
