using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Messaging;

/// <summary>
/// Outbound safety: with private targets not allowed (production's rule, the one switch
/// <c>Qianbao:Gateway:AllowPrivateNotifyUrls</c> = false), the SMS webhook is judged on the address the sender connects to
/// at delivery, so a webhook on a loopback address gets nothing and the attempt is recorded as failed.
/// </summary>
public abstract class OutboundSafetyTests(DatabaseEngine engine)
{
    [Fact]
    public async Task A_loopback_sms_webhook_receives_nothing_when_private_targets_are_not_allowed()
    {
        await using var receiver = await SmsReceiver.StartAsync();
        await using var bed = await SmsBed.CreateAsync(engine);
        // The receiver listens on 127.0.0.1; a name that resolves there is refused alike (the check is on the connected address).
        var host = bed.Start([.. SmsBed.Webhook(receiver), ("Qianbao:Gateway:AllowPrivateNotifyUrls", "false"), ("Qianbao:Sms:AttemptsMax", "2")]);
        var phone = SmsBed.NewPhone();
        await SmsBed.RequestCodeAsync(host.CreateClient(), phone);

        string? lastError = null;
        await SmsBed.EventuallyAsync(() =>
        {
            using var connection = host.Services.GetRequiredService<Db>().OpenAsync().GetAwaiter().GetResult();
            // Recipients are stored as a blind index (personal data at rest), so the row is found by the index of the phone.
            var index = host.Services.GetRequiredService<Qianbao.Server.Modules.Messaging.MessageRecipients>().Index("+86" + phone);
            lastError = connection.QuerySingleOrDefault<string?>("SELECT last_error FROM outbound_messages WHERE recipient = @index", new { index });
            return lastError is not null;
        }, TimeSpan.FromSeconds(20), () => "no failed attempt was recorded");
        lastError!.ShouldContain("no public address");
        receiver.Requests.ShouldBe(0);
    }
}

public sealed class SqliteOutboundSafetyTests() : OutboundSafetyTests(DatabaseEngine.Sqlite);

public sealed class PostgresOutboundSafetyTests() : OutboundSafetyTests(DatabaseEngine.Postgres);
