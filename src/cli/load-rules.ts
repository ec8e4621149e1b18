// Loads the remedy catalog for a running role; a broken catalog stops the process with its errors.
import { readFile } from 'node:fs/promises';
import { loadCatalog, type Catalog } from '../rules/index.ts';
import { formatCatalogErrors } from './check-rules-file.ts';

export class RulesError extends Error {
  readonly code = 'RULES_INVALID';
}

export async function loadRulesOrThrow(path: string): Promise<Catalog> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RulesError(`cannot read rule catalog ${path}: ${(error as Error).message}`);
  }
  const result = loadCatalog(text, path);
  if (!result.ok)
    throw new RulesError(`invalid rule catalog:\n${formatCatalogErrors(path, result.errors)}`);
  return result.catalog;
}
