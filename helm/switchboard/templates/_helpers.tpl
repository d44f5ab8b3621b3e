{{/* Names, labels and the pieces every pod of the chart shares. */}}

{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's object name prefix (63 characters at most, minus room for suffixes). */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "switchboard.operator.name" -}}{{ include "switchboard.fullname" . }}-operator{{- end }}
{{- define "switchboard.gateway.name" -}}{{ include "switchboard.fullname" . }}-gateway{{- end }}
{{- define "switchboard.etcd.name" -}}{{ include "switchboard.fullname" . }}-etcd{{- end }}
{{- define "switchboard.injector.name" -}}{{ include "switchboard.fullname" . }}-injector{{- end }}
{{- define "switchboard.nats.name" -}}{{ include "switchboard.fullname" . }}-nats{{- end }}

{{/* The NATS URLs of gateway.jetstream: its urls, else every bundled member by its stable name (TLS). */}}
{{- define "switchboard.natsUrls" -}}
{{- $j := .Values.gateway.jetstream }}
{{- if $j.urls }}
{{- join "," $j.urls }}
{{- else }}
{{- $name := include "switchboard.nats.name" . }}
{{- $urls := list }}
{{- range $i := until (int .Values.bundledNats.replicas) }}
{{- $urls = append $urls (printf "tls://%s-%d.%s-headless.%s.svc:4222" $name $i $name $.Release.Namespace) }}
{{- end }}
{{- join "," $urls }}
{{- end }}
{{- end }}

{{/* The gateway's JetStream flags (gateway.jetstream.enabled). */}}
{{- define "switchboard.jetstreamArgs" -}}
{{- $j := .Values.gateway.jetstream }}
- --durability=jetstream
- --nats={{ include "switchboard.natsUrls" . }}
- --nats-replicas={{ $j.replicas }}
- --nats-max-bytes={{ int64 $j.maxBytes }}
- --dead-letter-max-age={{ $j.deadLetterMaxAge }}
- --nats-ack-wait={{ $j.ackWait }}
{{- if or $j.tlsSecret (not $j.urls) }}
- --nats-ca=/etc/switchboard/nats-tls/ca.crt
{{- end }}
{{- if and $j.tlsSecret $j.clientCertificate }}
- --nats-cert=/etc/switchboard/nats-tls/tls.crt
- --nats-key=/etc/switchboard/nats-tls/tls.key
{{- end }}
{{- if $j.credentialsSecret }}
- --nats-creds=/etc/switchboard/nats-creds/nats.creds
{{- else if not $j.urls }}
- --nats-user=gateway
- --nats-password-file=/etc/switchboard/nats-auth/password
{{- end }}
{{- end }}

{{- define "switchboard.jetstreamMounts" -}}
{{- $j := .Values.gateway.jetstream }}
{{- if or $j.tlsSecret (not $j.urls) }}
- name: nats-tls
  mountPath: /etc/switchboard/nats-tls
  readOnly: true
{{- end }}
{{- if $j.credentialsSecret }}
- name: nats-creds
  mountPath: /etc/switchboard/nats-creds
  readOnly: true
{{- else if not $j.urls }}
- name: nats-auth
  mountPath: /etc/switchboard/nats-auth
  readOnly: true
{{- end }}
{{- end }}

{{- define "switchboard.jetstreamVolumes" -}}
{{- $j := .Values.gateway.jetstream }}
{{- $name := include "switchboard.nats.name" . }}
{{- if or $j.tlsSecret (not $j.urls) }}
- name: nats-tls
  secret:
    secretName: {{ $j.tlsSecret | default (printf "%s-tls" $name) }}
    {{- if not (and $j.tlsSecret $j.clientCertificate) }}
    items:
      - { key: ca.crt, path: ca.crt }
    {{- end }}
{{- end }}
{{- if $j.credentialsSecret }}
- name: nats-creds
  secret:
    secretName: {{ $j.credentialsSecret }}
    items:
      - { key: nats.creds, path: nats.creds }
{{- else if not $j.urls }}
- name: nats-auth
  secret:
    secretName: {{ $name }}-auth
    items:
      - { key: password, path: password }
{{- end }}
{{- end }}

{{/* The required cluster name, checked again here in case the schema was skipped. */}}
{{- define "switchboard.clusterName" -}}
{{- required "clusterName is required: this cluster's name in the registry, e.g. --set clusterName=east" .Values.clusterName }}
{{- end }}

{{- define "switchboard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchboard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" $ "component" "operator"). */}}
{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "switchboard.componentLabels" -}}
{{ include "switchboard.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "switchboard.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Pod-level securityContext of Pod Security "restricted". */}}
{{- define "switchboard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext of Pod Security "restricted", with a read-only root. */}}
{{- define "switchboard.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The etcd client URLs: the bundled etcd's Service, else etcd.endpoints (one is required). */}}
{{- define "switchboard.etcdEndpoints" -}}
{{- if .Values.bundledEtcd.enabled }}
{{- printf "http://%s.%s.svc:2379" (include "switchboard.etcd.name" .) .Release.Namespace }}
{{- else }}
{{- if not .Values.etcd.endpoints }}
{{- fail "etcd.endpoints is required (the registry's etcd client URLs), or set bundledEtcd.enabled=true for a trial" }}
{{- end }}
{{- join "," .Values.etcd.endpoints }}
{{- end }}
{{- end }}

{{/* etcd TLS flags, mount and volume for a Secret (ca.crt, tls.crt, tls.key) at /etc/switchboard/etcd. */}}
{{- define "switchboard.etcdTlsArgs" -}}
- --etcd-ca=/etc/switchboard/etcd/ca.crt
- --etcd-cert=/etc/switchboard/etcd/tls.crt
- --etcd-key=/etc/switchboard/etcd/tls.key
{{- end }}

{{- define "switchboard.etcdTlsMount" -}}
- name: etcd-tls
  mountPath: /etc/switchboard/etcd
  readOnly: true
{{- end }}

{{/* Include with the Secret's name. */}}
{{- define "switchboard.etcdTlsVolume" -}}
- name: etcd-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - { key: ca.crt, path: ca.crt }
      - { key: tls.crt, path: tls.crt }
      - { key: tls.key, path: tls.key }
{{- end }}

{{/* The Secret holding the registry's master key (etcd.sealing). */}}
{{- define "switchboard.registryKeySecret" -}}
{{- .Values.etcd.sealing.existingSecret | default (printf "%s-registry-key" (include "switchboard.fullname" .)) -}}
{{- end }}

{{/* The master key's flag, mount and volume (operator and shared gateway), when records are sealed. */}}
{{- define "switchboard.registryKeyArgs" -}}
- --registry-key-file=/etc/switchboard/registry-key/registry.key
{{- end }}

{{- define "switchboard.registryKeyMount" -}}
- name: registry-key
  mountPath: /etc/switchboard/registry-key
  readOnly: true
{{- end }}

{{- define "switchboard.registryKeyVolume" -}}
- name: registry-key
  secret:
    secretName: {{ include "switchboard.registryKeySecret" . }}
    defaultMode: 0440
    items:
      - { key: registry.key, path: registry.key }
{{- end }}

{{/* Env twins of the downward API: POD_NAME and POD_NAMESPACE. */}}
{{- define "switchboard.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}

{{/* A soft anti-affinity spreading a component's replicas over nodes. */}}
{{- define "switchboard.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "switchboard.selectorLabels" . | nindent 12 }}
{{- end }}

{{/* Cross-field checks that JSON Schema cannot phrase clearly; fails the render with one line. */}}
{{- define "switchboard.validate" -}}
{{- $i := .Values.injector }}
{{- if $i.enabled }}
{{- if eq (int $i.webhookPort) (int .Values.operator.metricsPort) }}
{{- fail "injector.webhookPort must differ from operator.metricsPort (both are ports of the operator pods)" }}
{{- end }}
{{- if eq (int $i.sidecar.port) (int $i.sidecar.metricsPort) }}
{{- fail "injector.sidecar.port and injector.sidecar.metricsPort must differ" }}
{{- end }}
{{- end }}
{{- $g := .Values.gateway }}
{{- if and $g.durability.persistentVolume.enabled (ne $g.kind "StatefulSet") }}
{{- fail "gateway.durability.persistentVolume.enabled needs gateway.kind=StatefulSet (one volume per gateway)" }}
{{- end }}
{{- if and $g.jetstream.enabled $g.durability.enabled }}
{{- fail "gateway.jetstream.enabled and gateway.durability.enabled exclude each other: accepted events are kept in NATS or in the gateway's log" }}
{{- end }}
{{- if $g.jetstream.enabled }}
{{- if and (not $g.jetstream.urls) (not .Values.bundledNats.enabled) }}
{{- fail "gateway.jetstream.enabled needs gateway.jetstream.urls (an existing NATS cluster), or bundledNats.enabled=true for a trial" }}
{{- end }}
{{- if and $g.jetstream.urls .Values.bundledNats.enabled }}
{{- fail "set gateway.jetstream.urls or bundledNats.enabled, not both: the gateways use one NATS cluster" }}
{{- end }}
{{- if and .Values.bundledNats.enabled (gt (int $g.jetstream.replicas) (int .Values.bundledNats.replicas)) }}
{{- fail "gateway.jetstream.replicas must be at most bundledNats.replicas (a stream's replicas live on different servers)" }}
{{- end }}
{{- end }}
{{- if and $g.durability.persistentVolume.enabled (not $g.durability.enabled) }}
{{- fail "gateway.durability.persistentVolume.enabled needs gateway.durability.enabled=true" }}
{{- end }}
{{- if or (lt (int64 $g.maxInflightBytesPerVpn) (int64 $g.maxBodyBytes)) (gt (int64 $g.maxInflightBytesPerVpn) (int64 $g.maxInflightBytes)) }}
{{- fail "gateway.maxInflightBytesPerVpn must be at least gateway.maxBodyBytes and at most gateway.maxInflightBytes" }}
{{- end }}
{{- if and .Values.monitoring.serviceMonitor.enabled .Values.monitoring.podMonitor.enabled }}
{{- fail "enable monitoring.serviceMonitor or monitoring.podMonitor, not both: every target would be scraped twice" }}
{{- end }}
{{- $drain := include "switchboard.seconds" $g.drainTimeout | float64 }}
{{- if gt (addf $drain 5) (float64 $g.terminationGracePeriodSeconds) }}
{{- fail (printf "gateway.drainTimeout (%s) must end at least 5s before gateway.terminationGracePeriodSeconds (%d): the kubelet kills the gateway at the end of the grace period, abandoning what the drain had not finished" $g.drainTimeout (int $g.terminationGracePeriodSeconds)) }}
{{- end }}
{{- if and .Values.bundledEtcd.enabled .Values.etcd.endpoints }}
{{- fail "set either etcd.endpoints or bundledEtcd.enabled, not both" }}
{{- end }}
{{- if and .Values.bundledEtcd.enabled (or .Values.etcd.operatorSecret .Values.etcd.gatewaySecret) }}
{{- fail "the bundled etcd serves plain HTTP: leave etcd.operatorSecret and etcd.gatewaySecret empty" }}
{{- end }}
{{- end }}

{{/* The seconds in a Go duration such as 25s, 1m30s or 500ms (the values schema checks its form). */}}
{{- define "switchboard.seconds" -}}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" . -1 }}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . }}
{{- $unit := trimPrefix $n . }}
{{- $scale := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 }}
{{- $total = addf $total (mulf (float64 $n) (index $scale $unit)) }}
{{- end }}
{{- $total -}}
{{- end }}

{{/* The operator's webhook and injector flags (injector.enabled). */}}
{{- define "switchboard.injectorArgs" -}}
{{- $i := .Values.injector }}
{{- $etcdSecret := default .Values.etcd.gatewaySecret $i.sidecar.etcdSecret -}}
- --webhook-addr=0.0.0.0:{{ $i.webhookPort }}
- --webhook-cert-file=/etc/switchboard/webhook/tls.crt
- --webhook-key-file=/etc/switchboard/webhook/tls.key
- --injector-image={{ include "switchboard.image" . }}
- --injector-port={{ $i.sidecar.port }}
- --injector-metrics-port={{ $i.sidecar.metricsPort }}
- --injector-cpu={{ $i.sidecar.cpu }}
- --injector-memory={{ $i.sidecar.memory }}
{{- with $etcdSecret }}
- --injector-etcd-secret={{ . }}
{{- end }}
{{- end }}

{{/* --egress-allow and --egress-deny of every gateway and of the operator (gateway.egress). */}}
{{- define "switchboard.egressArgs" -}}
{{- $e := .Values.gateway.egress }}
{{- $deny := list }}
{{- if $e.denyReleasePorts }}
{{- $deny = append $deny (printf "*:%d" (int .Values.gateway.metricsPort)) }}
{{- if .Values.injector.enabled }}
{{- $deny = append $deny (printf "*:%d" (int .Values.injector.sidecar.metricsPort)) }}
{{- end }}
{{- if .Values.bundledEtcd.enabled }}
{{- $deny = append $deny "*:2379" }}
{{- end }}
{{- end }}
{{- $deny = concat $deny $e.deny | uniq }}
{{- with $e.allow }}
- --egress-allow={{ join "," . }}
{{- end }}
{{- with $deny }}
- --egress-deny={{ join "," . }}
{{- end }}
{{- end }}
