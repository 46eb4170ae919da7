using System.Data.Common;
using Dapper;

namespace Qianbao.Server.Modules.Messaging;

internal enum MessageChannel : short { Sms = 1, Email = 2 }

/// <summary>
/// Where an outbound message is. <c>Withdrawn</c>: a marketing message whose person withdrew the channel's marketing
/// consent before it left (<see cref="IMarketingConsent"/>): never sent.
/// </summary>
internal enum MessageStatus : short { Queued = 0, Sending = 1, Delivered = 2, Failed = 3, Withdrawn = 4 }

/// <summary>
/// Asked by a channel's sender right before a marketing message leaves: whether the person still consents to marketing on
/// that channel (implemented by the notification core, which keeps the consent). A withdrawal after the message was
/// queued (one-click unsubscribe, preferences) then stops it.
/// </summary>
internal interface IMarketingConsent
{
    ValueTask<bool> AllowsAsync(Guid userId, MessageChannel channel, CancellationToken ct);
}

/// <summary>
/// Queues a text message in the caller's transaction, so it is sent exactly when what caused it commits (a code
/// with its verification, an alert with its security event). The SMS sender delivers it.
/// </summary>
internal sealed class SmsOutbox(TimeProvider clock, MessageSignal signal, MessageRecipients recipients)
{
    /// <param name="phone">E.164, as normalized by Identity's PhoneNumber.</param>
    public Task QueueAsync(DbConnection connection, DbTransaction tx, string phone, MessageTemplate template, string? locale,
        object[] args, CancellationToken ct) =>
        QueueAsync(connection, tx, phone, template, locale, args, dueAt: null, ct);

    /// <param name="phone">E.164, as normalized by Identity's PhoneNumber.</param>
    /// <param name="dueAt">Not sent before this instant (a message held through the person's quiet hours); null sends now.</param>
    public async Task QueueAsync(DbConnection connection, DbTransaction tx, string phone, MessageTemplate template, string? locale,
        object[] args, DateTimeOffset? dueAt, CancellationToken ct)
    {
        var supported = MessageTemplates.Supported(locale);
        var now = clock.GetUtcNow();
        var due = dueAt is { } at && at > now ? at : now;
        var id = Guid.CreateVersion7(now);
        // The phone is stored as its blind index (to find the person's messages) and sealed (for the sender only).
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO outbound_messages (id, channel, recipient, recipient_enc, template, locale, text, status, attempts, next_attempt_at_us, created_at_us)
            VALUES (@id, @channel, @index, @recipientEnc, @template, @locale, @text, @status, 0, @due, @now)
            """, new
        {
            id, channel = (short)MessageChannel.Sms, index = recipients.Index(phone), recipientEnc = recipients.Seal(id, phone), template = MessageTemplates.Name(template), locale = supported,
            text = MessageTemplates.Render(template, supported, args), status = (short)MessageStatus.Queued, now = Hosting.TimeProviderExtensions.ToUnixMicroseconds(now),
            due = Hosting.TimeProviderExtensions.ToUnixMicroseconds(due),
        }, tx, cancellationToken: ct));
        // The sender looks once the caller has committed; a nudge before the commit only makes it look a little early.
        signal.Nudge(MessageChannel.Sms);
    }

    /// <summary>
    /// Queues an already rendered text (a notification's) under <paramref name="templateName"/>; due at
    /// <paramref name="dueAtUs"/> when given (held by quiet hours), otherwise now.
    /// </summary>
    /// <param name="marketingOf">A marketing text's person: sent only while their SMS marketing consent holds (checked at delivery).</param>
    public async Task QueueTextAsync(DbConnection connection, DbTransaction tx, string phone, string templateName, string locale, string text,
        long? dueAtUs, CancellationToken ct, Guid? marketingOf = null)
    {
        var now = clock.GetUtcNow();
        var nowUs = Hosting.TimeProviderExtensions.ToUnixMicroseconds(now);
        var id = Guid.CreateVersion7(now);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO outbound_messages (id, channel, recipient, recipient_enc, template, locale, text, status, attempts, next_attempt_at_us, created_at_us,
                                           user_id, marketing)
            VALUES (@id, @channel, @index, @recipientEnc, @template, @locale, @text, @status, 0, @due, @now, @userId, @marketing)
            """, new
        {
            id, channel = (short)MessageChannel.Sms, index = recipients.Index(phone), recipientEnc = recipients.Seal(id, phone), template = templateName,
            locale, text, status = (short)MessageStatus.Queued, due = Math.Max(dueAtUs ?? nowUs, nowUs), now = nowUs,
            userId = marketingOf, marketing = (short)(marketingOf is null ? 0 : 1),
        }, tx, cancellationToken: ct));
        if (dueAtUs is null || dueAtUs <= nowUs) signal.Nudge();
    }
}

/// <summary>Wakes a channel's sender when a message is queued, so a code does not wait for the next poll.</summary>
internal sealed class MessageSignal
{
    private readonly SemaphoreSlim sms = new(0, 1);
    private readonly SemaphoreSlim email = new(0, 1);

    /// <summary>Wakes every channel's sender.</summary>
    public void Nudge()
    {
        Nudge(MessageChannel.Sms);
        Nudge(MessageChannel.Email);
    }

    public void Nudge(MessageChannel channel)
    {
        try { Of(channel).Release(); }
        catch (SemaphoreFullException) { /* a nudge is already pending */ }
    }

    public Task<bool> WaitAsync(MessageChannel channel, TimeSpan timeout, CancellationToken ct) => Of(channel).WaitAsync(timeout, ct);

    private SemaphoreSlim Of(MessageChannel channel) => channel == MessageChannel.Email ? email : sms;
}
