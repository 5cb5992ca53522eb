import { readHcl } from './hclReader';
import { readJson } from './jsonReader';
import { DEFAULT_READ_LIMITS, formatFromPath, type ReadLimits, type SourceFile, type SourceFormat } from './sourceFile';
import { readYaml, type YamlDocumentCache } from './yamlReader';

export function readSource(path: string, text: string, limits: ReadLimits = DEFAULT_READ_LIMITS, format: SourceFormat | undefined = formatFromPath(path), cache?: YamlDocumentCache): SourceFile {
  switch (format ?? 'yaml') {
    case 'json': return readJson(path, text, limits);
    case 'hcl': return readHcl(path, text, limits);
    default: return readYaml(path, text, limits, cache);
  }
}
