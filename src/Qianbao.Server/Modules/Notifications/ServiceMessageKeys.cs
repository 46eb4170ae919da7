using System.Buffers.Text;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// The idempotency of a merchant's service messages (<c>alipay.open.public.message.single.send</c>): the notification's
/// dedupe key is the merchant's <c>out_biz_no</c>, else a hash of the request's signature, and is found across people
/// (index <c>notifications_sender_keys</c>) so a key reused for someone else is recognised. The key is claimed first
/// (<c>service_message_keys</c>, <see cref="ClaimAsync"/>), so of concurrent sends with one key exactly one sends.
/// </summary>
internal static class ServiceMessageKeys
{
    public static string DedupeKey(Guid merchantId, string? outBizNo, string signature) => outBizNo is not null
        ? $"service:{merchantId:N}:{outBizNo}"
        : $"service:{merchantId:N}:sign:{Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(signature)))}";

    /// <summary>
    /// The dedupe key of a native API message (<c>POST /merchant/v1/followers/{user_id}/messages</c>): its Idempotency-Key,
    /// hashed to a fixed length, in a namespace of its own (never equal to a gateway <c>out_biz_no</c>'s).
    /// </summary>
    public static string IdempotencyDedupeKey(Guid merchantId, string idempotencyKey) =>
        $"service:{merchantId:N}:idem:{Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)))}";

    /// <summary>
    /// Claims the key in the sending transaction (the first statement of it): true when this transaction now holds it. A
    /// concurrent transaction claiming the same key waits on the key's row until this one ends, then finds it taken (this
    /// one committed: it reads what the key named with <see cref="FindAsync"/>) or claims it (this one rolled back).
    /// </summary>
    public static async Task<bool> ClaimAsync(DbConnection connection, DbTransaction tx, Guid merchantId, string key, long nowUs, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO service_message_keys (merchant_id, dedupe_key, created_at_us) VALUES (@merchantId, @key, @nowUs)
            ON CONFLICT (merchant_id, dedupe_key) DO NOTHING
            """, new { merchantId, key, nowUs }, tx, cancellationToken: ct)) == 1;

    /// <summary>The message a key already named, read in the sending transaction, or null.</summary>
    public static async Task<Earlier?> FindAsync(DbConnection connection, DbTransaction tx, Guid merchantId, string key, CancellationToken ct) =>
        await connection.QueryFirstOrDefaultAsync<Earlier>(new CommandDefinition(
            "SELECT user_id, title, body, variant, action FROM notifications WHERE sender_merchant_id = @merchantId AND dedupe_key = @key",
            new { merchantId, key }, tx, cancellationToken: ct));

    internal sealed class Earlier
    {
        public Guid user_id { get; init; }
        public string title { get; init; } = "";
        public string body { get; init; } = "";
        public string? variant { get; init; }
        public string? action { get; init; }

        /// <summary>True when the repeat asks for the same message to the same person.</summary>
        public bool Same(Guid userId, string title, string body, string templateId, NotificationAction? action) =>
            user_id == userId && this.title == title && this.body == body && variant == templateId
            && this.action == (action is null ? null : JsonSerializer.Serialize(action, JsonDefaults.Options));
    }
}
