// Typed document nodes for every operation in src/, generated from the committed supergraph.
// `npm run codegen` rewrites src/gql/; `npm run codegen:check` fails when it is stale (make test runs it).
import { readFileSync } from 'node:fs';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { transformSupergraphToPublicSchema } from '@theguild/federation-composition';
import { parse, print } from 'graphql';

// The API clients see: the supergraph without join__/link__ machinery and @inaccessible parts.
const supergraph = readFileSync(new URL('../schema/supergraph.graphql', import.meta.url), 'utf8');
const publicSchema = print(transformSupergraphToPublicSchema(parse(supergraph)));

const config: CodegenConfig = {
  schema: publicSchema,
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'string', Date: 'string', JSON: 'unknown' },
      },
    },
    // The schema graphcache needs to match fragments on interfaces and unions (`... on Error`).
    './src/gql/introspection.ts': {
      plugins: ['urql-introspection'],
      config: { module: 'es2015', useTypeImports: true, includeScalars: false, includeEnums: false, includeInputs: false, includeDirectives: false },
    },
  },
};
export default config;
