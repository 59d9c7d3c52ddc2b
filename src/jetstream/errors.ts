// JetStream API errors: the reference's table (server/errors.json of
// nats-server 2.9.10, as generated into jetstream_errors_generated.go):
// HTTP-like code, err_code and description. Descriptions with {placeholders}
// are filled by apiError's args, as the reference's NewJS*Error functions do.

export interface ApiErrorDef {
  code: number;
  err_code: number;
  description: string;
}

export const JS_ERRORS = {
  JSAccountResourcesExceededErr: { code: 400, err_code: 10002, description: "resource limits exceeded for account" },
  JSBadRequestErr: { code: 400, err_code: 10003, description: "bad request" },
  JSClusterIncompleteErr: { code: 503, err_code: 10004, description: "incomplete results" },
  JSClusterNoPeersErrF: { code: 400, err_code: 10005, description: "{err}" },
  JSClusterNotActiveErr: { code: 500, err_code: 10006, description: "JetStream not in clustered mode" },
  JSClusterNotAssignedErr: { code: 500, err_code: 10007, description: "JetStream cluster not assigned to this server" },
  JSClusterNotAvailErr: { code: 503, err_code: 10008, description: "JetStream system temporarily unavailable" },
  JSClusterNotLeaderErr: { code: 500, err_code: 10009, description: "JetStream cluster can not handle request" },
  JSClusterPeerNotMemberErr: { code: 400, err_code: 10040, description: "peer not a member" },
  JSClusterRequiredErr: { code: 503, err_code: 10010, description: "JetStream clustering support required" },
  JSClusterServerNotMemberErr: { code: 400, err_code: 10044, description: "server is not a member of the cluster" },
  JSClusterTagsErr: { code: 400, err_code: 10011, description: "tags placement not supported for operation" },
  JSClusterUnSupportFeatureErr: { code: 503, err_code: 10036, description: "not currently supported in clustered mode" },
  JSConsumerBadDurableNameErr: { code: 400, err_code: 10103, description: "durable name can not contain '.', '*', '>'" },
  JSConsumerConfigRequiredErr: { code: 400, err_code: 10078, description: "consumer config required" },
  JSConsumerCreateDurableAndNameMismatch: { code: 400, err_code: 10132, description: "Consumer Durable and Name have to be equal if both are provided" },
  JSConsumerCreateErrF: { code: 500, err_code: 10012, description: "{err}" },
  JSConsumerCreateFilterSubjectMismatchErr: { code: 400, err_code: 10131, description: "Consumer create request did not match filtered subject from create subject" },
  JSConsumerDeliverCycleErr: { code: 400, err_code: 10081, description: "consumer deliver subject forms a cycle" },
  JSConsumerDeliverToWildcardsErr: { code: 400, err_code: 10079, description: "consumer deliver subject has wildcards" },
  JSConsumerDescriptionTooLongErrF: { code: 400, err_code: 10107, description: "consumer description is too long, maximum allowed is {max}" },
  JSConsumerDirectRequiresEphemeralErr: { code: 400, err_code: 10091, description: "consumer direct requires an ephemeral consumer" },
  JSConsumerDirectRequiresPushErr: { code: 400, err_code: 10090, description: "consumer direct requires a push based consumer" },
  JSConsumerDurableNameNotInSubjectErr: { code: 400, err_code: 10016, description: "consumer expected to be durable but no durable name set in subject" },
  JSConsumerDurableNameNotMatchSubjectErr: { code: 400, err_code: 10017, description: "consumer name in subject does not match durable name in request" },
  JSConsumerDurableNameNotSetErr: { code: 400, err_code: 10018, description: "consumer expected to be durable but a durable name was not set" },
  JSConsumerEphemeralWithDurableInSubjectErr: { code: 400, err_code: 10019, description: "consumer expected to be ephemeral but detected a durable name set in subject" },
  JSConsumerEphemeralWithDurableNameErr: { code: 400, err_code: 10020, description: "consumer expected to be ephemeral but a durable name was set in request" },
  JSConsumerExistingActiveErr: { code: 400, err_code: 10105, description: "consumer already exists and is still active" },
  JSConsumerFCRequiresPushErr: { code: 400, err_code: 10089, description: "consumer flow control requires a push based consumer" },
  JSConsumerFilterNotSubsetErr: { code: 400, err_code: 10093, description: "consumer filter subject is not a valid subset of the interest subjects" },
  JSConsumerHBRequiresPushErr: { code: 400, err_code: 10088, description: "consumer idle heartbeat requires a push based consumer" },
  JSConsumerInvalidDeliverSubject: { code: 400, err_code: 10112, description: "invalid push consumer deliver subject" },
  JSConsumerInvalidPolicyErrF: { code: 400, err_code: 10094, description: "{err}" },
  JSConsumerInvalidSamplingErrF: { code: 400, err_code: 10095, description: "failed to parse consumer sampling configuration: {err}" },
  JSConsumerMaxDeliverBackoffErr: { code: 400, err_code: 10116, description: "max deliver is required to be > length of backoff values" },
  JSConsumerMaxPendingAckExcessErrF: { code: 400, err_code: 10121, description: "consumer max ack pending exceeds system limit of {limit}" },
  JSConsumerMaxPendingAckPolicyRequiredErr: { code: 400, err_code: 10082, description: "consumer requires ack policy for max ack pending" },
  JSConsumerMaxRequestBatchExceededF: { code: 400, err_code: 10125, description: "consumer max request batch exceeds server limit of {limit}" },
  JSConsumerMaxRequestBatchNegativeErr: { code: 400, err_code: 10114, description: "consumer max request batch needs to be > 0" },
  JSConsumerMaxRequestExpiresToSmall: { code: 400, err_code: 10115, description: "consumer max request expires needs to be >= 1ms" },
  JSConsumerMaxWaitingNegativeErr: { code: 400, err_code: 10087, description: "consumer max waiting needs to be positive" },
  JSConsumerNameContainsPathSeparatorsErr: { code: 400, err_code: 10127, description: "Consumer name can not contain path separators" },
  JSConsumerNameExistErr: { code: 400, err_code: 10013, description: "consumer name already in use" },
  JSConsumerNameTooLongErrF: { code: 400, err_code: 10102, description: "consumer name is too long, maximum allowed is {max}" },
  JSConsumerNotFoundErr: { code: 404, err_code: 10014, description: "consumer not found" },
  JSConsumerOfflineErr: { code: 500, err_code: 10119, description: "consumer is offline" },
  JSConsumerOnMappedErr: { code: 400, err_code: 10092, description: "consumer direct on a mapped consumer" },
  JSConsumerPullNotDurableErr: { code: 400, err_code: 10085, description: "consumer in pull mode requires a durable name" },
  JSConsumerPullRequiresAckErr: { code: 400, err_code: 10084, description: "consumer in pull mode requires ack policy" },
  JSConsumerPullWithRateLimitErr: { code: 400, err_code: 10086, description: "consumer in pull mode can not have rate limit set" },
  JSConsumerPushMaxWaitingErr: { code: 400, err_code: 10080, description: "consumer in push mode can not set max waiting" },
  JSConsumerReplacementWithDifferentNameErr: { code: 400, err_code: 10106, description: "consumer replacement durable config not the same" },
  JSConsumerReplicasExceedsStream: { code: 400, err_code: 10126, description: "consumer config replica count exceeds parent stream" },
  JSConsumerSmallHeartbeatErr: { code: 400, err_code: 10083, description: "consumer idle heartbeat needs to be >= 100ms" },
  JSConsumerStoreFailedErrF: { code: 500, err_code: 10104, description: "error creating store for consumer: {err}" },
  JSConsumerWQConsumerNotDeliverAllErr: { code: 400, err_code: 10101, description: "consumer must be deliver all on workqueue stream" },
  JSConsumerWQConsumerNotUniqueErr: { code: 400, err_code: 10100, description: "filtered consumer not unique on workqueue stream" },
  JSConsumerWQMultipleUnfilteredErr: { code: 400, err_code: 10099, description: "multiple non-filtered consumers not allowed on workqueue stream" },
  JSConsumerWQRequiresExplicitAckErr: { code: 400, err_code: 10098, description: "workqueue stream requires explicit ack" },
  JSConsumerWithFlowControlNeedsHeartbeats: { code: 400, err_code: 10108, description: "consumer with flow control also needs heartbeats" },
  JSInsufficientResourcesErr: { code: 503, err_code: 10023, description: "insufficient resources" },
  JSInvalidJSONErr: { code: 400, err_code: 10025, description: "invalid JSON" },
  JSMaximumConsumersLimitErr: { code: 400, err_code: 10026, description: "maximum consumers limit reached" },
  JSMaximumStreamsLimitErr: { code: 400, err_code: 10027, description: "maximum number of streams reached" },
  JSMemoryResourcesExceededErr: { code: 500, err_code: 10028, description: "insufficient memory resources available" },
  JSMirrorConsumerSetupFailedErrF: { code: 500, err_code: 10029, description: "{err}" },
  JSMirrorMaxMessageSizeTooBigErr: { code: 400, err_code: 10030, description: "stream mirror must have max message size >= source" },
  JSMirrorWithSourcesErr: { code: 400, err_code: 10031, description: "stream mirrors can not also contain other sources" },
  JSMirrorWithStartSeqAndTimeErr: { code: 400, err_code: 10032, description: "stream mirrors can not have both start seq and start time configured" },
  JSMirrorWithSubjectFiltersErr: { code: 400, err_code: 10033, description: "stream mirrors can not contain filtered subjects" },
  JSMirrorWithSubjectsErr: { code: 400, err_code: 10034, description: "stream mirrors can not contain subjects" },
  JSNoAccountErr: { code: 503, err_code: 10035, description: "account not found" },
  JSNoLimitsErr: { code: 400, err_code: 10120, description: "no JetStream default or applicable tiered limit present" },
  JSNoMessageFoundErr: { code: 404, err_code: 10037, description: "no message found" },
  JSNotEmptyRequestErr: { code: 400, err_code: 10038, description: "expected an empty request payload" },
  JSNotEnabledErr: { code: 503, err_code: 10076, description: "JetStream not enabled" },
  JSNotEnabledForAccountErr: { code: 503, err_code: 10039, description: "JetStream not enabled for account" },
  JSPeerRemapErr: { code: 503, err_code: 10075, description: "peer remap failed" },
  JSRaftGeneralErrF: { code: 500, err_code: 10041, description: "{err}" },
  JSReplicasCountCannotBeNegative: { code: 400, err_code: 10133, description: "replicas count cannot be negative" },
  JSRestoreSubscribeFailedErrF: { code: 500, err_code: 10042, description: "JetStream unable to subscribe to restore snapshot {subject}: {err}" },
  JSSequenceNotFoundErrF: { code: 400, err_code: 10043, description: "sequence {seq} not found" },
  JSSnapshotDeliverSubjectInvalidErr: { code: 400, err_code: 10015, description: "deliver subject not valid" },
  JSSourceConsumerSetupFailedErrF: { code: 500, err_code: 10045, description: "{err}" },
  JSSourceMaxMessageSizeTooBigErr: { code: 400, err_code: 10046, description: "stream source must have max message size >= target" },
  JSStorageResourcesExceededErr: { code: 500, err_code: 10047, description: "insufficient storage resources available" },
  JSStreamAssignmentErrF: { code: 500, err_code: 10048, description: "{err}" },
  JSStreamCreateErrF: { code: 500, err_code: 10049, description: "{err}" },
  JSStreamDeleteErrF: { code: 500, err_code: 10050, description: "{err}" },
  JSStreamExternalApiOverlapErrF: { code: 400, err_code: 10021, description: "stream external api prefix {prefix} must not overlap with {subject}" },
  JSStreamExternalDelPrefixOverlapsErrF: { code: 400, err_code: 10022, description: "stream external delivery prefix {prefix} overlaps with stream subject {subject}" },
  JSStreamGeneralErrorF: { code: 500, err_code: 10051, description: "{err}" },
  JSStreamHeaderExceedsMaximumErr: { code: 400, err_code: 10097, description: "header size exceeds maximum allowed of 64k" },
  JSStreamInfoMaxSubjectsErr: { code: 500, err_code: 10117, description: "subject details would exceed maximum allowed" },
  JSStreamInvalidConfigF: { code: 500, err_code: 10052, description: "{err}" },
  JSStreamInvalidErr: { code: 500, err_code: 10096, description: "stream not valid" },
  JSStreamInvalidExternalDeliverySubjErrF: { code: 400, err_code: 10024, description: "stream external delivery prefix {prefix} must not contain wildcards" },
  JSStreamLimitsErrF: { code: 500, err_code: 10053, description: "{err}" },
  JSStreamMaxBytesRequired: { code: 400, err_code: 10113, description: "account requires a stream config to have max bytes set" },
  JSStreamMaxStreamBytesExceeded: { code: 400, err_code: 10122, description: "stream max bytes exceeds account limit max stream bytes" },
  JSStreamMessageExceedsMaximumErr: { code: 400, err_code: 10054, description: "message size exceeds maximum allowed" },
  JSStreamMirrorNotUpdatableErr: { code: 400, err_code: 10055, description: "stream mirror configuration can not be updated" },
  JSStreamMismatchErr: { code: 400, err_code: 10056, description: "stream name in subject does not match request" },
  JSStreamMoveAndScaleErr: { code: 400, err_code: 10123, description: "can not move and scale a stream in a single update" },
  JSStreamMoveInProgressF: { code: 400, err_code: 10124, description: "stream move already in progress: {msg}" },
  JSStreamMoveNotInProgress: { code: 400, err_code: 10129, description: "stream move not in progress" },
  JSStreamMsgDeleteFailedF: { code: 500, err_code: 10057, description: "{err}" },
  JSStreamNameContainsPathSeparatorsErr: { code: 400, err_code: 10128, description: "Stream name can not contain path separators" },
  JSStreamNameExistErr: { code: 400, err_code: 10058, description: "stream name already in use with a different configuration" },
  JSStreamNameExistRestoreFailedErr: { code: 400, err_code: 10130, description: "stream name already in use, cannot restore" },
  JSStreamNotFoundErr: { code: 404, err_code: 10059, description: "stream not found" },
  JSStreamNotMatchErr: { code: 400, err_code: 10060, description: "expected stream does not match" },
  JSStreamOfflineErr: { code: 500, err_code: 10118, description: "stream is offline" },
  JSStreamPurgeFailedF: { code: 500, err_code: 10110, description: "{err}" },
  JSStreamReplicasNotSupportedErr: { code: 500, err_code: 10074, description: "replicas > 1 not supported in non-clustered mode" },
  JSStreamReplicasNotUpdatableErr: { code: 400, err_code: 10061, description: "Replicas configuration can not be updated" },
  JSStreamRestoreErrF: { code: 500, err_code: 10062, description: "restore failed: {err}" },
  JSStreamRollupFailedF: { code: 500, err_code: 10111, description: "{err}" },
  JSStreamSealedErr: { code: 400, err_code: 10109, description: "invalid operation on sealed stream" },
  JSStreamSequenceNotMatchErr: { code: 503, err_code: 10063, description: "expected stream sequence does not match" },
  JSStreamSnapshotErrF: { code: 500, err_code: 10064, description: "snapshot failed: {err}" },
  JSStreamStoreFailedF: { code: 503, err_code: 10077, description: "{err}" },
  JSStreamSubjectOverlapErr: { code: 400, err_code: 10065, description: "subjects overlap with an existing stream" },
  JSStreamTemplateCreateErrF: { code: 500, err_code: 10066, description: "{err}" },
  JSStreamTemplateDeleteErrF: { code: 500, err_code: 10067, description: "{err}" },
  JSStreamTemplateNotFoundErr: { code: 404, err_code: 10068, description: "template not found" },
  JSStreamUpdateErrF: { code: 500, err_code: 10069, description: "{err}" },
  JSStreamWrongLastMsgIDErrF: { code: 400, err_code: 10070, description: "wrong last msg ID: {id}" },
  JSStreamWrongLastSequenceErrF: { code: 400, err_code: 10071, description: "wrong last sequence: {seq}" },
  JSTempStorageFailedErr: { code: 500, err_code: 10072, description: "JetStream unable to open temp storage for restore" },
  JSTemplateNameNotMatchSubjectErr: { code: 400, err_code: 10073, description: "template name in subject does not match request" },
} as const satisfies Record<string, ApiErrorDef>;

export type JsErrorName = keyof typeof JS_ERRORS;

/** The JSON  object of an API response, as the reference's ApiError. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly errCode: number,
    readonly description: string,
  ) {
    super(description);
    this.name = 'ApiError';
  }

  toJSON(): { code: number; err_code?: number; description?: string } {
    const o: { code: number; err_code?: number; description?: string } = { code: this.code };
    if (this.errCode !== 0) o.err_code = this.errCode;
    if (this.description !== '') o.description = this.description;
    return o;
  }
}

/**
 * The reference's error by name, with its {placeholders} replaced from
 * `args` (server/jetstream_errors.go NewJS…Error).
 */
export function apiError(name: JsErrorName, args: Record<string, string | number> = {}): ApiError {
  const def = JS_ERRORS[name];
  const text = def.description.replace(/\{(\w+)\}/g, (m, k: string) => (k in args ? String(args[k]) : m));
  return new ApiError(def.code, def.err_code, text);
}
