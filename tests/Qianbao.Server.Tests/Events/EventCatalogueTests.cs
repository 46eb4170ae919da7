using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Tests.Events;

public sealed class EventCatalogueTests
{
    [Fact]
    public void EveryCatalogueRecordHasOneStableSnakeCaseName()
    {
        var records = typeof(DomainEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(DomainEvent)) && !t.IsAbstract).ToArray();
        records.Length.ShouldBeGreaterThanOrEqualTo(11);
        foreach (var type in records)
        {
            var name = EventTypes.NameOf(type);
            name.ShouldMatch("^[a-z_]+\\.[a-z_]+$");
            EventTypes.TypeOf(name).ShouldBe(type);
        }
        EventTypes.All.Count.ShouldBe(records.Length);
        EventTypes.TypeOf("no.such_event").ShouldBeNull();
    }

    [Fact]
    public void PayloadIsSnakeCaseWithoutTheEnvelopeAndReadsBackEqual()
    {
        var e = new TradeSettled("2025010122001", "2021000000000001", "req-1", "S1", Guid.CreateVersion7(),
            [new SettlementShare(Guid.CreateVersion7(), 120)], 120, "CNY") { EventId = Guid.CreateVersion7(), OccurredAtUs = 1_700_000_000_000_000 };
        var json = EventTypes.Serialize(e);
        var node = JsonNode.Parse(json)!.AsObject();
        node.Select(p => p.Key).ShouldBe(["trade_no", "app_id", "out_request_no", "settle_no", "merchant_id", "shares", "amount_minor", "currency"], ignoreOrder: true);
        node["shares"]![0]!["receiver_merchant_id"]!.GetValue<Guid>().ShouldBe(e.Shares[0].ReceiverMerchantId);

        var back = EventTypes.Deserialize("trade.settled", json, e.EventId, e.OccurredAtUs).ShouldBeOfType<TradeSettled>();
        back.Shares.ShouldBe(e.Shares);
        (back with { Shares = e.Shares }).ShouldBe(e);
        EventTypes.Deserialize("from.the_future", json, e.EventId, e.OccurredAtUs).ShouldBeNull();
    }

    [Fact]
    public void DerivedIdsAreStablePerTypeAndKey()
    {
        DomainEvent.IdFor<UserRegistered>("a").ShouldBe(DomainEvent.IdFor<UserRegistered>("a"));
        DomainEvent.IdFor<UserRegistered>("a").ShouldNotBe(DomainEvent.IdFor<UserRegistered>("b"));
        DomainEvent.IdFor<UserRegistered>("a").ShouldNotBe(DomainEvent.IdFor<MerchantVerified>("a"));
    }

    [Theory]
    [InlineData("RetentionDays", "0")]
    [InlineData("RetentionDays", "3651")]
    [InlineData("PollIntervalMs", "9")]
    [InlineData("BatchSizeMax", "0")]
    [InlineData("BatchSizeMax", "10001")]
    [InlineData("LeaseMs", "999")]
    [InlineData("RetryDelayMaxMs", "3600001")]
    [InlineData("PurgeIntervalMs", "999")]
    public void OutOfRangeOptionsAreRefusedNamingTheKey(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Qianbao:Events:" + key] = value }).Build();
        Bind(configuration).Problems().ShouldHaveSingleItem().ShouldContain("Qianbao:Events:" + key);
    }

    private static EventOptions Bind(IConfiguration configuration) =>
        configuration.GetSection(EventOptions.SectionName).Get<EventOptions>() ?? new EventOptions();

    [Fact]
    public void DefaultsAreValid()
    {
        var options = Bind(new ConfigurationBuilder().Build());
        options.Problems().ShouldBeEmpty();
        options.RetentionDays.ShouldBe(30);
    }

    [Fact]
    public void TheEventsSectionIsCheckedAtStartWithEveryOtherSection()
    {
        // Hosting/ConfigurationValidationTests refuses every catalogued key one past each end of its range, and
        // StartupRefusalTests shows the process printing the line and exiting 78.
        Qianbao.Server.Hosting.OptionsCatalog.Sections.ShouldContain(s => s.Type == typeof(EventOptions) && s.Path == EventOptions.SectionName);
    }

    [Fact]
    public async Task SubscriberNamesMustBeValidAndUnique()
    {
        using var database = await EventsDatabase.CreateAsync(Storage.DatabaseEngine.Sqlite);
        Should.Throw<Exception>(() => database.Start([new RecordingSubscriber("Bad Name")])).ToString().ShouldContain("Bad Name");
        Should.Throw<Exception>(() => database.Start([new RecordingSubscriber("twin"), new RecordingSubscriber("twin")])).ToString().ShouldContain("twin");
    }
}
