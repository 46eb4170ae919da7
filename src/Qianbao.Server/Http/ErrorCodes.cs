namespace Qianbao.Server.Http;

/// <summary>The HTTP status a problem code is answered with; 0 for a pattern that covers several statuses.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ProblemStatusAttribute(int status) : Attribute
{
    public int Status { get; } = status;
}

/// <summary>
/// Every stable <c>code</c> the native API answers in a problem (see <see cref="ApiProblem"/>), with its status: the
/// catalogue README's error table is checked against (tests/…/Docs/ErrorTableTests, which also scans the sources so
/// a code written as a literal elsewhere cannot escape it). New code should use these constants.
/// </summary>
public static class ErrorCodes
{
    // 400: the request is malformed or a field is out of its range.
    [ProblemStatus(400)] public const string BadRequest = "bad_request";
    [ProblemStatus(400)] public const string MalformedJson = "malformed_json";
    [ProblemStatus(400)] public const string InvalidAmount = "invalid_amount";
    [ProblemStatus(400)] public const string InvalidCurrency = "invalid_currency";
    [ProblemStatus(400)] public const string InvalidPhone = "invalid_phone";
    [ProblemStatus(400)] public const string InvalidPassword = "invalid_password";
    [ProblemStatus(400)] public const string InvalidName = "invalid_name";
    [ProblemStatus(400)] public const string InvalidRecipient = "invalid_recipient";
    [ProblemStatus(400)] public const string InvalidNote = "invalid_note";
    [ProblemStatus(400)] public const string IdempotencyKeyMissing = "idempotency_key_missing";
    [ProblemStatus(400)] public const string IdempotencyKeyInvalid = "idempotency_key_invalid";
    [ProblemStatus(400)] public const string InvalidLimit = "invalid_limit";
    [ProblemStatus(400)] public const string InvalidCursor = "invalid_cursor";
    [ProblemStatus(400)] public const string InvalidType = "invalid_type";
    [ProblemStatus(400)] public const string InvalidTime = "invalid_time";
    [ProblemStatus(400)] public const string InvalidStatus = "invalid_status";
    [ProblemStatus(400)] public const string InvalidTradeNo = "invalid_trade_no";
    [ProblemStatus(400)] public const string InvalidQrCode = "invalid_qr_code";
    [ProblemStatus(400)] public const string InvalidPublicKey = "invalid_public_key";
    [ProblemStatus(400)] public const string InvalidNotifyUrl = "invalid_notify_url";
    [ProblemStatus(400)] public const string InvalidFeeBps = "invalid_fee_bps";
    [ProblemStatus(400)] public const string InvalidLicenceNo = "invalid_licence_no";
    [ProblemStatus(400)] public const string InvalidCreditCode = "invalid_credit_code";
    [ProblemStatus(400)] public const string InvalidFormat = "invalid_format";
    [ProblemStatus(400)] public const string InvalidLegalPerson = "invalid_legal_person";
    [ProblemStatus(400)] public const string InvalidReason = "invalid_reason";
    [ProblemStatus(400)] public const string InvalidCallback = "invalid_callback";
    [ProblemStatus(400)] public const string InvalidPurpose = "invalid_purpose";
    [ProblemStatus(400)] public const string InvalidVerification = "invalid_verification";
    [ProblemStatus(400)] public const string InvalidDeviceId = "invalid_device_id";
    [ProblemStatus(400)] public const string InvalidPinFormat = "invalid_pin_format";
    [ProblemStatus(400)] public const string WeakPin = "weak_pin";
    [ProblemStatus(400)] public const string InvalidIdNumber = "invalid_id_number";
    [ProblemStatus(400)] public const string InvalidCardNumber = "invalid_card_number";
    [ProblemStatus(400)] public const string InvalidTier = "invalid_tier";
    [ProblemStatus(400)] public const string InvalidRule = "invalid_rule";
    [ProblemStatus(400)] public const string InvalidDecision = "invalid_decision";
    [ProblemStatus(400)] public const string InvalidOperatorId = "invalid_operator_id";
    [ProblemStatus(400)] public const string InvalidDate = "invalid_date";
    [ProblemStatus(400)] public const string InvalidDateRange = "invalid_date_range";
    [ProblemStatus(400)] public const string InvalidGranularity = "invalid_granularity";
    [ProblemStatus(400)] public const string InvalidList = "invalid_list";
    [ProblemStatus(400)] public const string InvalidReference = "invalid_reference";
    [ProblemStatus(400)] public const string InvalidPayee = "invalid_payee";
    [ProblemStatus(400)] public const string InvalidCategory = "invalid_category";
    [ProblemStatus(400)] public const string InvalidText = "invalid_text";
    [ProblemStatus(400)] public const string InvalidSubject = "invalid_subject";
    [ProblemStatus(400)] public const string InvalidEmail = "invalid_email";
    [ProblemStatus(400)] public const string InvalidRole = "invalid_role";
    [ProblemStatus(400)] public const string InvalidCount = "invalid_count";
    [ProblemStatus(400)] public const string InvalidSplit = "invalid_split";
    [ProblemStatus(400)] public const string RedPacketTooLarge = "red_packet_too_large";
    [ProblemStatus(400)] public const string ShareTooSmall = "share_too_small";
    [ProblemStatus(400)] public const string UnevenFixedSplit = "uneven_fixed_split";
    [ProblemStatus(400)] public const string InvalidMessage = "invalid_message";
    [ProblemStatus(400)] public const string InvalidExpiry = "invalid_expiry";

    // Marketing: campaigns and coupons.
    [ProblemStatus(400)] public const string InvalidCampaignName = "invalid_campaign_name";
    [ProblemStatus(400)] public const string InvalidKind = "invalid_kind";
    [ProblemStatus(400)] public const string InvalidFunding = "invalid_funding";
    [ProblemStatus(400)] public const string InvalidCampaignWindow = "invalid_campaign_window";
    [ProblemStatus(400)] public const string InvalidMerchantIds = "invalid_merchant_ids";
    [ProblemStatus(400)] public const string InvalidKindFields = "invalid_kind_fields";
    [ProblemStatus(400)] public const string InvalidCouponType = "invalid_coupon_type";
    [ProblemStatus(400)] public const string InvalidDiscountAmount = "invalid_discount_amount";
    [ProblemStatus(400)] public const string InvalidPercentBps = "invalid_percent_bps";
    [ProblemStatus(400)] public const string InvalidCap = "invalid_cap";
    [ProblemStatus(400)] public const string InvalidMinSpend = "invalid_min_spend";
    [ProblemStatus(400)] public const string InvalidStock = "invalid_stock";
    [ProblemStatus(400)] public const string InvalidPerUserMax = "invalid_per_user_max";
    [ProblemStatus(400)] public const string InvalidValidity = "invalid_validity";
    [ProblemStatus(400)] public const string InvalidSettleAfterHours = "invalid_settle_after_hours";
    [ProblemStatus(400)] public const string InvalidMultiplierBps = "invalid_multiplier_bps";
    [ProblemStatus(400)] public const string InvalidCampaignId = "invalid_campaign_id";
    [ProblemStatus(400)] public const string InvalidTemplateId = "invalid_template_id";
    [ProblemStatus(400)] public const string InvalidCouponId = "invalid_coupon_id";
    [ProblemStatus(400)] public const string InvalidUsePoints = "invalid_use_points";

    // 401, 403: who is asking.
    [ProblemStatus(401)] public const string Unauthorized = "unauthorized";
    [ProblemStatus(401)] public const string TokenExpired = "token_expired";
    [ProblemStatus(401)] public const string InvalidCredentials = "invalid_credentials";
    [ProblemStatus(401)] public const string ChannelSignatureInvalid = "channel_signature_invalid";
    [ProblemStatus(401)] public const string ChannelSignatureStale = "channel_signature_stale";
    [ProblemStatus(401)] public const string DeviceVerificationRequired = "device_verification_required";
    [ProblemStatus(401)] public const string RefreshTokenReused = "refresh_token_reused";
    [ProblemStatus(401)] public const string InvalidRefreshToken = "invalid_refresh_token";
    [ProblemStatus(403)] public const string InvalidBillUrl = "invalid_bill_url";
    [ProblemStatus(403)] public const string Forbidden = "forbidden";
    [ProblemStatus(403)] public const string InvalidCurrentPassword = "invalid_current_password";
    [ProblemStatus(403)] public const string PinRequired = "pin_required";
    [ProblemStatus(403)] public const string PinNotSet = "pin_not_set";
    [ProblemStatus(403)] public const string InvalidPin = "invalid_pin";
    [ProblemStatus(403)] public const string PinLocked = "pin_locked";
    [ProblemStatus(403)] public const string StepUpRequired = "step_up_required";
    [ProblemStatus(403)] public const string InvalidStepUp = "invalid_step_up";
    [ProblemStatus(403)] public const string IdentityRequired = "identity_required";
    [ProblemStatus(403)] public const string CashierRefundLimit = "cashier_refund_limit";

    // 404, 405, 413, 415: what the HTTP stack refuses.
    [ProblemStatus(404)] public const string NotFound = "not_found";
    [ProblemStatus(404)] public const string InvalidInvitation = "invalid_invitation";
    [ProblemStatus(405)] public const string MethodNotAllowed = "method_not_allowed";
    [ProblemStatus(413)] public const string BodyTooLarge = "body_too_large";
    [ProblemStatus(415)] public const string UnsupportedMediaType = "unsupported_media_type";

    // 409: someone else got there first.
    [ProblemStatus(409)] public const string PhoneTaken = "phone_taken";
    [ProblemStatus(409)] public const string LicenceTaken = "licence_taken";
    [ProblemStatus(409)] public const string TradeAlreadyPaid = "trade_already_paid";
    [ProblemStatus(409)] public const string ChannelOutcomeConflict = "channel_outcome_conflict";
    [ProblemStatus(409)] public const string IdentityTaken = "identity_taken";
    [ProblemStatus(409)] public const string BalanceNotZero = "balance_not_zero";
    [ProblemStatus(409)] public const string IdentityAlreadyVerified = "identity_already_verified";
    [ProblemStatus(409)] public const string TotpAlreadyEnabled = "totp_already_enabled";
    [ProblemStatus(409)] public const string CaseResolved = "case_resolved";
    [ProblemStatus(409)] public const string UnderReview = "under_review";
    [ProblemStatus(409)] public const string HoldNotHeld = "hold_not_held";
    [ProblemStatus(409)] public const string ComplaintClosed = "complaint_closed";
    [ProblemStatus(409)] public const string OperatorExists = "operator_exists";
    [ProblemStatus(409)] public const string EmailTaken = "email_taken";
    [ProblemStatus(409)] public const string NotPending = "not_pending";
    [ProblemStatus(409)] public const string NotVerified = "not_verified";
    [ProblemStatus(409)] public const string OwnStaffAccount = "own_staff_account";

    // 422: well formed, but the money or the state says no.
    [ProblemStatus(422)] public const string InsufficientFunds = "insufficient_funds";
    [ProblemStatus(422)] public const string IdempotencyKeyReused = "idempotency_key_reused";
    [ProblemStatus(422)] public const string RecipientNotFound = "recipient_not_found";
    [ProblemStatus(422)] public const string SameWallet = "same_wallet";
    [ProblemStatus(422)] public const string TradeClosed = "trade_closed";
    [ProblemStatus(422)] public const string AmountOverflow = "amount_overflow";
    [ProblemStatus(422)] public const string AccountClosed = "account_closed";
    [ProblemStatus(422)] public const string ChannelLimitExceeded = "channel_limit_exceeded";
    [ProblemStatus(422)] public const string AccountFrozen = "account_frozen";
    [ProblemStatus(422)] public const string InvalidVerificationCode = "invalid_verification_code";
    [ProblemStatus(422)] public const string RecipientNotVerified = "recipient_not_verified";
    [ProblemStatus(422)] public const string LimitExceeded = "limit_exceeded";
    [ProblemStatus(422)] public const string CardHolderMismatch = "card_holder_mismatch";
    [ProblemStatus(422)] public const string InvalidTotpCode = "invalid_totp_code";
    [ProblemStatus(422)] public const string MerchantFrozen = "merchant_frozen";
    [ProblemStatus(422)] public const string MerchantBalanceInsufficient = "merchant_balance_insufficient";
    [ProblemStatus(422)] public const string RefundExceedsPaid = "refund_exceeds_paid";
    [ProblemStatus(422)] public const string TradeNotRefundable = "trade_not_refundable";
    [ProblemStatus(422)] public const string ComplaintNotRefundable = "complaint_not_refundable";
    [ProblemStatus(422)] public const string CampaignNotActive = "campaign_not_active";
    [ProblemStatus(422)] public const string OutOfStock = "out_of_stock";
    [ProblemStatus(422)] public const string CouponLimitReached = "coupon_limit_reached";
    [ProblemStatus(422)] public const string CouponNotUsable = "coupon_not_usable";
    [ProblemStatus(422)] public const string PointsNotUsable = "points_not_usable";
    [ProblemStatus(422)] public const string OwnRedPacket = "own_red_packet";
    [ProblemStatus(422)] public const string AlreadyClaimed = "already_claimed";
    [ProblemStatus(422)] public const string OutOfShares = "out_of_shares";
    [ProblemStatus(422)] public const string Expired = "expired";

    // 429: slow down.
    // Notifications (issue 11)
    [ProblemStatus(400)] public const string InvalidUnreadFilter = "invalid_unread_filter";
    [ProblemStatus(400)] public const string InvalidPreferences = "invalid_preferences";
    [ProblemStatus(400)] public const string InvalidTemplate = "invalid_template";
    [ProblemStatus(400)] public const string InvalidFeedbackReason = "invalid_feedback_reason";
    [ProblemStatus(400)] public const string UnknownTemplateVariable = "unknown_template_variable";
    [ProblemStatus(422)] public const string CategoryLocked = "category_locked";
    // Messaging campaigns (issue 11)
    [ProblemStatus(400)] public const string InvalidMessagingCampaign = "invalid_messaging_campaign";
    [ProblemStatus(400)] public const string InvalidSegment = "invalid_segment";
    [ProblemStatus(400)] public const string InvalidVariants = "invalid_variants";
    [ProblemStatus(400)] public const string InvalidConversion = "invalid_conversion";
    [ProblemStatus(409)] public const string CampaignAlreadyStarted = "campaign_already_started";
    [ProblemStatus(422)] public const string NotificationHasNoAction = "notification_has_no_action";

    [ProblemStatus(429)] public const string TooManyRequests = "too_many_requests";
    [ProblemStatus(429)] public const string TooManyAttempts = "too_many_attempts";

    // 500: ours.
    [ProblemStatus(500)] public const string InternalError = "internal_error";

    // 503: a party we depend on did not answer.
    [ProblemStatus(503)] public const string ChannelUnavailable = "channel_unavailable";

    /// <summary>Any other status the HTTP stack answers without a body of ours (none is known today): <c>http_</c> and the number.</summary>
    [ProblemStatus(0)] public const string OtherHttpStatus = "http_<status>";

    /// <summary>The code for a status the HTTP stack set without a body (routing, binding, limits).</summary>
    public static string ForBareStatus(int status) => status switch
    {
        400 => ErrorCodes.BadRequest,
        404 => ErrorCodes.NotFound,
        405 => ErrorCodes.MethodNotAllowed,
        413 => ErrorCodes.BodyTooLarge,
        415 => ErrorCodes.UnsupportedMediaType,
        500 => ErrorCodes.InternalError,
        _ => "http_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
