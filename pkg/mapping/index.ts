export { compileMapping, mappingProblems, MappingError, type Mapping, type MappingProblem } from './compile.js';
export { fieldMappingSchema, FIELD_MAPPING_ALIASES, type FieldMappingSpec } from './schema.js';
export type { Json, JsonObject } from './paths.js';
export { mappingFitProblems } from './fit.js';
