using Dapper;
using Qianbao.Server.Modules.Identity.DataRights;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>
/// How <c>outbound_messages</c> names a recipient (migration 0016): <c>recipient</c> holds the phone's blind index (what the
/// sandbox listing and erasure match), <c>recipient_enc</c> the phone sealed with the row's id, opened only by the sender.
/// </summary>
internal sealed class MessageRecipients(PersonalDataProtector protector)
{
    public const string Table = "outbound_messages";

    public static SealedTable Sealed => new(Table, "id", ["recipient_enc"]);

    public string Index(string phone) => protector.Index(IndexKind.Phone, phone);

    /// <summary>The blind index of an e-mail recipient (normalised by Email.EmailAddress).</summary>
    public string EmailIndex(string email) => protector.Index(IndexKind.Email, Email.EmailAddress.IndexForm(email));

    public string Seal(Guid messageId, string phone) => protector.Seal(phone, new SealedField(Table, "recipient_enc", messageId));

    /// <summary>The phone or address to send to: opened from <c>recipient_enc</c>, or for a row queued before 0016 (not yet converted) the clear <c>recipient</c>.</summary>
    public string Open(Guid messageId, string recipient, string? recipientEnc) =>
        recipientEnc is not null ? protector.Open(recipientEnc, new SealedField(Table, "recipient_enc", messageId)) : recipient;
}

/// <summary>Converts messages queued before 0016 (a clear-text recipient starts with <c>+</c>).</summary>
internal sealed class MessagingPlaintextUpgrade(Db db, MessageRecipients recipients) : IPlaintextUpgrade
{
    public async Task<int> ConvertBatchAsync(int batchMax, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var rows = (await connection.QueryAsync<(Guid Id, string Recipient)>(new CommandDefinition(
            $"SELECT id, recipient FROM outbound_messages WHERE recipient LIKE '+%' AND recipient_enc IS NULL LIMIT {batchMax}",
            transaction: tx, cancellationToken: ct))).AsList();
        foreach (var r in rows)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE outbound_messages SET recipient = @recipientIndex, recipient_enc = @recipientEnc WHERE id = @messageId",
                new { messageId = r.Id, recipientIndex = recipients.Index(r.Recipient), recipientEnc = recipients.Seal(r.Id, r.Recipient) }, tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
        return rows.Count;
    }
}

/// <summary>
/// The messages sent to a person, for their export (template and time, not the text: codes are spent), and erased when the
/// account closes (the phone may be registered again by someone else).
/// </summary>
internal sealed class MessagingPersonalData(Db db, MessageRecipients recipients) : IPersonalDataSource
{
    public async Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct)
    {
        // Text messages are found by the phone's index, e-mail by whose it is (the address may have changed since).
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(short Channel, string Template, short Status, long CreatedAtUs)>(new CommandDefinition(
            "SELECT channel, template, status, created_at_us FROM outbound_messages WHERE recipient = @index OR user_id = @userId ORDER BY created_at_us, id",
            new { index = subject.Phone is null ? "" : recipients.Index(subject.Phone), userId = subject.UserId }, cancellationToken: ct));
        return new Dictionary<string, object?>
        {
            ["messages"] = rows.Select(r => new
            {
                channel = ((MessageChannel)r.Channel).ToString().ToLowerInvariant(), template = r.Template,
                status = ((MessageStatus)r.Status).ToString().ToLowerInvariant(), created_at = Hosting.TimeProviderExtensions.FromUnixMicroseconds(r.CreatedAtUs),
            }).ToList(),
        };
    }

    public async Task EraseAsync(DataSubject subject, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM outbound_messages WHERE recipient = @index OR user_id = @userId",
            new { index = subject.Phone is null ? "" : recipients.Index(subject.Phone), userId = subject.UserId }, cancellationToken: ct));
    }
}
