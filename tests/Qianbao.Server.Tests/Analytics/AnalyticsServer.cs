using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Analytics;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Tests.Points;

namespace Qianbao.Server.Tests.Analytics;

/// <summary>The points test server (gateway payments, a movable clock) with k = 5, plus the steps of an analytics test.</summary>
public abstract class AnalyticsServer(DatabaseEngine engine) : PointsServer(engine)
{
    public const int K = 5;

    private static int idCounter;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Qianbao:Analytics:KMin", K.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Delivers events to the analytics subscriber as the event runner would (the same ids again = a redelivery).</summary>
    public async Task DeliverAsync(params DomainEvent[] events)
    {
        var subscriber = Services.GetServices<IEventSubscriber>().Single(s => s.Name == AnalyticsSubscriber.SubscriberName);
        var stored = events.Select((e, i) => new StoredEvent(new EventPosition(0, i + 1), e.EventId, EventTypes.NameOf(e.GetType()), e.Stream,
            EventTypes.Serialize(e), e.OccurredAtUs)).ToList();
        await subscriber.HandleAsync(stored, CancellationToken.None);
    }

    public static long ChinaUs(int year, int month, int day, int hour, int minute) =>
        (new DateTimeOffset(year, month, day, hour, minute, 0, China).UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static T At<T>(T e, long atUs) where T : DomainEvent => e with { EventId = Guid.NewGuid(), OccurredAtUs = atUs };

    public async Task<HttpResponseMessage> GetAsync(string path) => await OperatorSendAsync(HttpMethod.Get, path);

    public async Task<JsonObject> GetOkAsync(string path)
    {
        using var response = await GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>A registered user with a verified identity of this sex, birth date and province (two-digit code).</summary>
    public async Task<WalletClient> VerifiedUserAsync(bool male, DateOnly birth, int province)
    {
        var user = await WalletClient.RegisterAsync(Http);
        var n = Interlocked.Increment(ref idCounter) + Random.Shared.Next(0, 400) * 100;
        var area = province.ToString("00", CultureInfo.InvariantCulture) + (n / 100 % 99 + 1).ToString("00", CultureInfo.InvariantCulture) + "01";
        var sequence = (n % 100) * 2 + (male ? 1 : 0);
        var number = IdNumber(area + birth.ToString("yyyyMMdd", CultureInfo.InvariantCulture) + sequence.ToString("000", CultureInfo.InvariantCulture));
        using var response = await user.PostAsync("/v1/me/identity", new { name = "王小明", id_number = number });
        if (response.StatusCode == HttpStatusCode.Conflict) return await VerifiedUserAsync(male, birth, province);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return user;
    }

    /// <summary>The 17 digits with their GB 11643 check character.</summary>
    public static string IdNumber(string first17)
    {
        int[] weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        var sum = 0;
        for (var i = 0; i < 17; i++) sum += (first17[i] - '0') * weights[i];
        return first17 + "10X98765432"[sum % 11];
    }
}

public sealed class SqliteAnalyticsServer() : AnalyticsServer(DatabaseEngine.Sqlite);

public sealed class PostgresAnalyticsServer() : AnalyticsServer(DatabaseEngine.Postgres);
