using Microsoft.Extensions.Configuration;
using Qianbao.Server.Adapters.Alipay.Notifications;

namespace Qianbao.Server.Tests.Gateway.Notifications;

public sealed class NotificationOptionsTests
{
    [Fact]
    public void TheDefaultScheduleIsAlipays()
    {
        var options = NotificationOptions.Load(new ConfigurationBuilder().Build());
        options.ParseRetrySchedule().ShouldBe(
        [
            TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), TimeSpan.FromHours(1),
            TimeSpan.FromHours(2), TimeSpan.FromHours(6), TimeSpan.FromHours(15),
        ]);
        // 8 attempts (the first plus one per delay) spread over about 25 hours.
        options.ParseRetrySchedule().Aggregate(TimeSpan.Zero, (a, b) => a + b).ShouldBe(TimeSpan.FromMinutes(24 * 60 + 24));
        options.NotifyTimeoutMs.ShouldBe(10_000);
        options.NotifyPollIntervalMs.ShouldBe(1_000);
        options.NotifyBatchMax.ShouldBe(50);
    }

    [Fact]
    public void ConfigurationIsReadFromTheGatewaySection()
    {
        var options = NotificationOptions.Load(Config(("NotifyRetrySchedule", " 00:00:00.050 , 1.00:00:00 "), ("NotifyTimeoutMs", "500"),
            ("NotifyPollIntervalMs", "20"), ("NotifyBatchMax", "7")));
        options.ParseRetrySchedule().ShouldBe([TimeSpan.FromMilliseconds(50), TimeSpan.FromDays(1)]);
        options.NotifyTimeoutMs.ShouldBe(500);
        options.NotifyPollIntervalMs.ShouldBe(20);
        options.NotifyBatchMax.ShouldBe(7);
    }

    [Theory]
    [InlineData("NotifyRetrySchedule", "", "NotifyRetrySchedule")]
    [InlineData("NotifyRetrySchedule", "4m", "NotifyRetrySchedule")]
    [InlineData("NotifyRetrySchedule", "00:04:00,,00:10:00", "NotifyRetrySchedule")]
    [InlineData("NotifyRetrySchedule", "00:00:00", "NotifyRetrySchedule")]
    [InlineData("NotifyRetrySchedule", "-00:01:00", "NotifyRetrySchedule")]
    [InlineData("NotifyRetrySchedule", "8.00:00:00", "NotifyRetrySchedule")]
    [InlineData("NotifyTimeoutMs", "99", "NotifyTimeoutMs")]
    [InlineData("NotifyTimeoutMs", "120001", "NotifyTimeoutMs")]
    [InlineData("NotifyPollIntervalMs", "9", "NotifyPollIntervalMs")]
    [InlineData("NotifyBatchMax", "0", "NotifyBatchMax")]
    [InlineData("NotifyBatchMax", "1001", "NotifyBatchMax")]
    public void BadConfigurationStopsTheStartWithAClearMessage(string key, string value, string named)
    {
        var error = Should.Throw<InvalidOperationException>(() => NotificationOptions.Load(Config((key, value))));
        error.Message.ShouldContain("Qianbao:Gateway:" + named);
    }

    [Fact]
    public void TheScheduleIsBounded()
    {
        var tooMany = string.Join(',', Enumerable.Repeat("00:01:00", NotificationOptions.RetryScheduleCountMax + 1));
        Should.Throw<InvalidOperationException>(() => NotificationOptions.Load(Config(("NotifyRetrySchedule", tooMany))));
        var most = string.Join(',', Enumerable.Repeat("00:01:00", NotificationOptions.RetryScheduleCountMax));
        NotificationOptions.Load(Config(("NotifyRetrySchedule", most))).ParseRetrySchedule().Count.ShouldBe(NotificationOptions.RetryScheduleCountMax);
    }

    private static IConfiguration Config(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>("Qianbao:Gateway:" + s.Key, s.Value))).Build();
}
