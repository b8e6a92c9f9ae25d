// Types for the operations in src/, generated from aidgraph's schema.graphql (the contract
// the service checks its own schema against).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      config: {
        scalars: { Date: 'string', DateTime: 'string', Decimal: 'string' },
        enumsAsTypes: true,
      },
    },
  },
};

export default config;
