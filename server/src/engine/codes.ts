/** Stable codes of the findings the foundation layer produces. Semantic checks get their own
 * registry (MPA1xxx and up); these never change meaning once released. */
export const Codes = {
  syntax: 'MPA0001',
  tooLarge: 'MPA0002',
  unknownVersion: 'MPA0003',
  config: 'MPA0004',
  policyTestFails: 'MPA0005',
  policyTestProblem: 'MPA0006',
  unknownField: 'MPA0101',
  missingField: 'MPA0102',
  wrongType: 'MPA0103',
  valueNotAllowed: 'MPA0104',
  badFormat: 'MPA0105',
  outOfBounds: 'MPA0106',
  conflictingFields: 'MPA0107',
  duplicateItems: 'MPA0108',
} as const;

export type Code = (typeof Codes)[keyof typeof Codes];

export interface CodeInfo {
  code: Code;
  title: string;
  description: string;
}

export const CODE_INFO: CodeInfo[] = [
  { code: Codes.syntax, title: 'Syntax error', description: 'The YAML, JSON or HCL text cannot be parsed at this point.' },
  { code: Codes.tooLarge, title: 'Input over a limit', description: 'A file, document count, nesting depth or alias expansion is over the configured limit; the rest of the file was not checked.' },
  { code: Codes.unknownVersion, title: 'Unknown API version', description: 'The kind is a mesh policy kind, but this apiVersion is not one the mesh serves.' },
  { code: Codes.config, title: 'Project configuration problem', description: 'A key of .meshpolicy.yaml is unknown, misspelt or has a value of the wrong type or range; its default applies instead.' },
  { code: Codes.policyTestFails, title: 'Policy test fails', description: 'A call written in a policy test file (kind: MeshPolicyTest) gets another verdict, or another deciding policy or rule, than the test expects.' },
  { code: Codes.policyTestProblem, title: 'Policy test cannot run', description: 'A policy test file holds a test without a readable call or verdict, or a key a test does not take.' },
  { code: Codes.unknownField, title: 'Unknown field', description: 'The field is not part of the resource; the API server rejects it under strict field validation, or drops it.' },
  { code: Codes.missingField, title: 'Missing required field', description: 'A field the resource requires is absent.' },
  { code: Codes.wrongType, title: 'Wrong type', description: 'The value has the wrong type (for example a string where a list is expected).' },
  { code: Codes.valueNotAllowed, title: 'Value not allowed', description: 'The value is not one of the allowed values.' },
  { code: Codes.badFormat, title: 'Bad format', description: 'The value does not have the required format.' },
  { code: Codes.outOfBounds, title: 'Out of bounds', description: 'A length, item count or number is outside the allowed bounds.' },
  { code: Codes.conflictingFields, title: 'Conflicting fields', description: 'Fields that exclude or require each other are combined wrongly.' },
  { code: Codes.duplicateItems, title: 'Duplicate items', description: 'A list that must hold distinct values repeats one.' },
];
