// Schemas of Kubernetes shapes the Switchboard resources embed: metav1.Condition,
// metav1.LabelSelector, Secret key references, and the status every kind shares.
import { dnsLabel, dnsSubdomain, secretKey } from "./formats.ts";
import { cel, list, mapList, obj, oneOf, rule, type Schema, str } from "./openapi.ts";

const CONDITION_TYPE =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";
const CONDITION_REASON = "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
const LABEL_VALUE = "^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$";
const LABEL_KEY =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const LABEL_KEY_MESSAGE =
  "label keys are an optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

/** metav1.Condition, as controller-gen renders it (patterns, since only the operator writes status). */
const condition: Schema = obj(
  "A metav1.Condition.",
  {
    type: {
      type: "string",
      description: "Type of condition in CamelCase.",
      maxLength: 316,
      pattern: CONDITION_TYPE,
    },
    status: oneOf("True, False or Unknown.", ["True", "False", "Unknown"]),
    observedGeneration: {
      type: "integer",
      format: "int64",
      minimum: 0,
      description: "The .metadata.generation the condition was set for.",
    },
    lastTransitionTime: {
      type: "string",
      format: "date-time",
      maxLength: 64,
      description: "When the condition last changed status.",
    },
    reason: {
      type: "string",
      description: "A programmatic identifier for the condition's last transition, in CamelCase.",
      minLength: 1,
      maxLength: 1024,
      pattern: CONDITION_REASON,
    },
    message: {
      type: "string",
      description: "A human-readable message about the transition.",
      maxLength: 32768,
    },
  },
  ["type", "status", "lastTransitionTime", "reason", "message"],
);

/** The status fields every kind has, followed by `extra`. */
export const status = (description: string, extra: Record<string, Schema>): Schema =>
  obj(description, {
    observedGeneration: {
      type: "integer",
      format: "int64",
      minimum: 0,
      description: "The .metadata.generation the operator last reconciled.",
    },
    conditions: mapList(
      "Ready, and kind-specific conditions such as EndpointsResolved, FunctionFound or FilterValid.",
      condition,
      "type",
      32,
    ),
    ...extra,
  });

/** metav1.LabelSelector; an empty selector (which would select everything) is refused. */
export const labelSelector = (description: string): Schema =>
  obj(
    description,
    {
      matchLabels: {
        type: "object",
        description: "Labels that must all be present with these values.",
        maxProperties: 64,
        "x-kubernetes-validations": [rule(`self.all(k, k.matches(${cel(LABEL_KEY)}))`, LABEL_KEY_MESSAGE)],
        additionalProperties: {
          type: "string",
          maxLength: 63,
          "x-kubernetes-validations": [
            rule(
              `self.matches(${cel(LABEL_VALUE)})`,
              "label values must be empty or alphanumeric with '-', '_' or '.' inside",
            ),
          ],
        },
      },
      matchExpressions: list(
        "Label requirements that must all hold.",
        obj(
          "A label requirement.",
          {
            key: str("The label key.", 317, rule(`self.matches(${cel(LABEL_KEY)})`, LABEL_KEY_MESSAGE)),
            operator: oneOf("In, NotIn, Exists or DoesNotExist.", ["In", "NotIn", "Exists", "DoesNotExist"]),
            values: list(
              "The values for In and NotIn; empty for Exists and DoesNotExist.",
              str("A label value.", 63),
              64,
            ),
          },
          ["key", "operator"],
          rule(
            "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
            "values must be non-empty for In and NotIn and empty for Exists and DoesNotExist",
            { fieldPath: ".values" },
          ),
        ),
        32,
      ),
    },
    [],
    rule(
      "(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",
      "selector must have matchLabels or matchExpressions: an empty selector would select every namespace",
    ),
  );

/** A reference to a key of a Secret in a given namespace (cluster-scoped owners must name it). */
export const namespacedSecretKeyRef = (description: string): Schema =>
  obj(
    description,
    {
      namespace: dnsLabel("The Secret's namespace.", "namespace"),
      name: dnsSubdomain("The Secret's name.", "name"),
      key: secretKey("The key in the Secret's data."),
    },
    ["namespace", "name", "key"],
  );

/** A reference to a key of a Secret in the referencing object's namespace. */
export const secretKeyRef = (description: string): Schema =>
  obj(
    description,
    {
      name: dnsSubdomain("The Secret's name.", "name"),
      key: secretKey("The key in the Secret's data."),
    },
    ["name", "key"],
  );
