// The field_mapping contract shared by Source and InboundWebhook specs.

export interface DateRule {
  external: string;
  native?: string;
}

export interface ComposeRule {
  from: string[];
  separator?: string;
}

export type Scalar = string | number | boolean | null;

export interface FieldMappingSpec {
  /** native field → external path; inverted on the way in. */
  to_external?: Record<string, string>;
  /** native field ← external path; overrides the inversion on the way in. */
  to_native?: Record<string, string>;
  /** native field → {native value: external value}; inverted on the way in. */
  value_maps?: Record<string, Record<string, Scalar>>;
  dates?: Record<string, DateRule>;
  /** Inbound only: native field ← several external paths joined. */
  compose?: Record<string, ComposeRule>;
  /** Inbound only: native field ← a template such as "{first} {last}". */
  computed?: Record<string, string>;
  unmapped?: 'keep' | 'drop';
}

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };

/**
 * Shapes only; the rules between fields (collisions, invertibility, formats) are checked
 * by compileMapping so they can name the field at fault.
 */
export const fieldMappingSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    to_external: stringMap,
    to_native: stringMap,
    value_maps: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
    },
    dates: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['external'],
        properties: { external: { type: 'string' }, native: { type: 'string' } },
      },
    },
    compose: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['from'],
        properties: { from: { type: 'array', minItems: 1, items: { type: 'string' } }, separator: { type: 'string' } },
      },
    },
    computed: stringMap,
    to_rekor: { ...stringMap, description: 'alias of to_native' },
    unmapped: { type: 'string', enum: ['keep', 'drop'], default: 'keep' },
  },
} as const;

/** Spellings accepted on input for the same fields (seed 000 says to_rekor). */
export const FIELD_MAPPING_ALIASES: Record<string, keyof FieldMappingSpec> = {
  to_rekor: 'to_native',
  toRekor: 'to_native',
};
