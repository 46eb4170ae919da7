using System.Text.Json;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>Hands one MIME message to wherever mail goes. Null when accepted; otherwise why not (never the text: it may hold a code).</summary>
internal interface IEmailProvider
{
    /// <summary>False when there is nowhere to send (production without SMTP): the sender does not run and mail waits.</summary>
    bool CanDeliver { get; }

    Task<string?> SendAsync(MimeMessage message, CancellationToken ct);
}

/// <summary>No SMTP in sandbox mode: nothing leaves; the row is delivered at once and stays in the queue, where
/// <c>GET /admin/v1/sandbox/messages?to=&lt;address&gt;</c> reads it.</summary>
internal sealed class SandboxEmailProvider : IEmailProvider
{
    public bool CanDeliver => true;
    public Task<string?> SendAsync(MimeMessage message, CancellationToken ct) => Task.FromResult<string?>(null);
}

/// <summary>Production without SMTP: mail is queued and kept, not sent, until SMTP is configured (README).</summary>
internal sealed class UnconfiguredEmailProvider : IEmailProvider
{
    public bool CanDeliver => false;
    public Task<string?> SendAsync(MimeMessage message, CancellationToken ct) => Task.FromResult<string?>("no SMTP server is configured");
}

/// <summary>
/// SMTP with MailKit: one connection per message (connect, STARTTLS or TLS as configured, authenticate when a user name is
/// set, send, quit), bounded as a whole by <see cref="EmailOptions.TimeoutMs"/>. Any failure (refused connection, TLS,
/// authentication, a 4xx or 5xx reply) is an attempt the sender retries with backoff.
/// </summary>
internal sealed class SmtpEmailProvider(EmailOptions options) : IEmailProvider
{
    public bool CanDeliver => true;

    public async Task<string?> SendAsync(MimeMessage message, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(options.TimeoutMs);
        using var client = new SmtpClient { Timeout = options.TimeoutMs };
        try
        {
            var security = options.Smtp.Security switch
            {
                SmtpSecurity.None => SecureSocketOptions.None,
                SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.StartTls,
            };
            await client.ConnectAsync(options.Smtp.Host!, options.Smtp.Port, security, bound.Token);
            if (!string.IsNullOrEmpty(options.Smtp.Username))
                await client.AuthenticateAsync(options.Smtp.Username, options.Smtp.Password ?? "", bound.Token);
            await client.SendAsync(message, bound.Token);
            await client.DisconnectAsync(quit: true, bound.Token);
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no complete SMTP exchange within {options.TimeoutMs} ms";
        }
        catch (SmtpCommandException ex)
        {
            return $"SMTP {(int)ex.StatusCode}: {ex.Message}";
        }
        catch (Exception ex) when (ex is SmtpProtocolException or System.Net.Sockets.SocketException or IOException or AuthenticationException
                                       or SslHandshakeException or TimeoutException)
        {
            return $"SMTP failed: {ex.GetType().Name}: {ex.Message}";
        }
    }
}

/// <summary>Builds the MIME message of a queued row: multipart/alternative (text, then HTML), the caller's headers.</summary>
internal static class EmailMime
{
    public static MimeMessage Build(Guid messageId, string from, string to, string subject, string text, string html, string locale, string? headersJson)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        // The same on every attempt, so a receiver (or a person's client) sees a repeat after a lost reply as one message.
        var domain = message.From.Mailboxes.First().Domain;
        message.MessageId = $"{messageId:N}@{(string.IsNullOrEmpty(domain) ? "qianbao" : domain)}";
        if (headersJson is not null)
            foreach (var (name, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(headersJson) ?? [])
                message.Headers.Add(name, value);
        message.Body = new BodyBuilder { TextBody = text, HtmlBody = html }.ToMessageBody();
        // A Content-* field belongs to the top entity (MimeKit keeps it on the body, written in the message's header block).
        message.Body.Headers.Add(HeaderId.ContentLanguage, locale);
        return message;
    }
}
