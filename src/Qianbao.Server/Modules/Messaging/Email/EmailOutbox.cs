using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>
/// One e-mail as a caller queues it: already rendered (the notification core renders its templates), with both parts.
/// </summary>
/// <param name="To">The address; send only to an address <see cref="EmailAddresses"/> holds as verified.</param>
/// <param name="Locale">The person's locale (<c>zh-CN</c>, <c>en</c>); becomes <c>Content-Language</c>.</param>
/// <param name="Template">What the message is, snake_case (kept in the person's export; the text is not).</param>
/// <param name="Headers">
/// Extra header fields, e.g. <c>List-Unsubscribe: &lt;https://…&gt;</c> and <c>List-Unsubscribe-Post:
/// List-Unsubscribe=One-Click</c> (RFC 8058) on marketing mail. Names the message itself sets (From, To, Subject,
/// Message-Id, Date, MIME-Version, Content-*) are refused, as is a value with a line break.
/// </param>
/// <param name="UserId">Whose message it is, for the data export and erasure.</param>
internal sealed record EmailMessage(string To, string Subject, string Text, string Html, string Locale, string Template, Guid? UserId,
    IReadOnlyDictionary<string, string>? Headers = null);

/// <summary>
/// Queues e-mail in the caller's transaction, so it is sent exactly when what caused it commits; <see cref="EmailSender"/>
/// delivers it. <paramref name="dueAt"/> holds a message (quiet hours) until then; <paramref name="dedupeKey"/> makes the
/// queue take a message at most once (the same key again is ignored, and the call answers false), so a retried cause
/// does not mail twice.
/// </summary>
internal sealed class EmailOutbox(TimeProvider clock, MessageSignal signal, MessageRecipients recipients)
{
    public const int SubjectLengthMax = 998;
    public const int DedupeKeyLengthMax = 200;

    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Bcc", "Sender", "Reply-To", "Subject", "Message-Id", "Date", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", "Content-Language", "Return-Path",
    };

    /// <returns>True when queued; false when <paramref name="dedupeKey"/> was queued before (nothing changed).</returns>
    /// <exception cref="ArgumentException">The message is malformed (a programming error, not a person's input).</exception>
    /// <param name="marketing">Sent only while the person's e-mail marketing consent holds (checked at delivery; needs <c>UserId</c>).</param>
    public async Task<bool> QueueAsync(DbConnection connection, DbTransaction tx, EmailMessage message, CancellationToken ct,
        DateTimeOffset? dueAt = null, string? dedupeKey = null, bool marketing = false)
    {
        if (!EmailAddress.TryNormalize(message.To, out var to)) throw new ArgumentException($"not an e-mail address: '{message.To}'", nameof(message));
        if (message.Subject.Length is 0 or > SubjectLengthMax || message.Subject.AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new ArgumentException("the subject must be one line of 1..998 characters", nameof(message));
        if (dedupeKey is { Length: 0 or > DedupeKeyLengthMax }) throw new ArgumentException("the dedupe key must be 1..200 characters", nameof(dedupeKey));
        foreach (var (name, value) in message.Headers ?? new Dictionary<string, string>())
        {
            if (name.Length == 0 || !name.All(c => c is > ' ' and < '\u007f' and not ':') || ReservedHeaders.Contains(name))
                throw new ArgumentException($"'{name}' is not a header a caller may set", nameof(message));
            if (value.AsSpan().IndexOfAny('\r', '\n') >= 0) throw new ArgumentException($"header '{name}' has a line break", nameof(message));
        }

        var now = clock.GetUtcNow();
        var due = dueAt is { } at && at > now ? at : now;
        var id = Guid.CreateVersion7(now);
        // ON CONFLICT without a target: the only unique key an insert of a new id can hit is (channel, dedupe_key).
        var inserted = await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO outbound_messages (id, channel, recipient, recipient_enc, template, locale, text, subject, html, headers, dedupe_key, user_id,
                                           status, attempts, next_attempt_at_us, created_at_us, marketing)
            VALUES (@id, @channel, @index, @recipientEnc, @template, @locale, @text, @subject, @html, @headers, @dedupeKey, @userId, @status, 0, @due, @now,
                    @marketing)
            ON CONFLICT DO NOTHING
            """, new
        {
            id, channel = (short)MessageChannel.Email, index = recipients.EmailIndex(to), recipientEnc = recipients.Seal(id, to),
            template = message.Template, locale = message.Locale, text = message.Text, subject = message.Subject, html = message.Html,
            headers = message.Headers is { Count: > 0 } h ? JsonSerializer.Serialize(h) : null, dedupeKey, userId = message.UserId,
            status = (short)MessageStatus.Queued, due = due.ToUnixMicroseconds(), now = now.ToUnixMicroseconds(),
            marketing = (short)(marketing && message.UserId is not null ? 1 : 0),
        }, tx, cancellationToken: ct));
        if (inserted == 1) signal.Nudge(MessageChannel.Email);
        return inserted == 1;
    }
}
