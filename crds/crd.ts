// Wraps a kind's spec and status schemas into an apiextensions.k8s.io/v1 CustomResourceDefinition
// with the conventions every Switchboard kind shares: status subresource, Ready/Reason printer
// columns first and Age last, the `switchboard` category.

import type { Rule, Schema } from "./openapi.ts";
import { GROUP, VERSION } from "./types.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface CrdSpec {
  kind: string;
  plural: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  description: string;
  spec: Schema;
  status: Schema;
  /** Columns between Reason and Age. */
  columns: PrinterColumn[];
  /** Spec fields usable in field selectors (`kubectl get --field-selector spec.vpn=shop`). */
  selectableFields?: string[];
  /** Rules on the whole object (they may read metadata.name). */
  rules?: Rule[];
}

export interface Crd {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: "Namespaced" | "Cluster";
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields?: { jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

export const CATEGORY = "switchboard";

const READY = '.status.conditions[?(@.type=="Ready")]';

/** The CustomResourceDefinition for one kind. */
export const crd = (c: CrdSpec): Crd => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: `${c.plural}.${GROUP}`,
    labels: { "app.kubernetes.io/name": "switchboard", "app.kubernetes.io/component": "crd" },
  },
  spec: {
    group: GROUP,
    names: {
      kind: c.kind,
      listKind: `${c.kind}List`,
      plural: c.plural,
      singular: c.kind.toLowerCase(),
      shortNames: c.shortNames,
      categories: [CATEGORY],
    },
    scope: c.scope,
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: "Ready", type: "string", jsonPath: `${READY}.status`, description: "The Ready condition." },
          {
            name: "Reason",
            type: "string",
            jsonPath: `${READY}.reason`,
            description: "Why it is (not) ready.",
          },
          ...c.columns,
          {
            name: "Gateways",
            type: "string",
            jsonPath: '.status.conditions[?(@.type=="Propagated")].message',
            description:
              "How many of the gateways that should route it have applied it, and which are behind.",
          },
          {
            name: "Age",
            type: "date",
            jsonPath: ".metadata.creationTimestamp",
            description: "Time since creation.",
          },
        ],
        ...(c.selectableFields
          ? { selectableFields: c.selectableFields.map((f) => ({ jsonPath: `.${f}` })) }
          : {}),
        schema: {
          openAPIV3Schema: {
            type: "object",
            description: c.description,
            required: ["spec"],
            properties: {
              apiVersion: {
                type: "string",
                maxLength: 253,
                description: "The versioned schema of this object.",
              },
              kind: {
                type: "string",
                maxLength: 63,
                description: "The REST resource this object represents.",
              },
              metadata: { type: "object" },
              spec: c.spec,
              status: c.status,
            },
            ...(c.rules && c.rules.length > 0 ? { "x-kubernetes-validations": c.rules } : {}),
          },
        },
      },
    ],
  },
});
