using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Notifications;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>The per-channel decision as a pure function: preferences, quiet hours and caps without a database.</summary>
public sealed class NotificationRulesTests
{
    private static readonly HashSet<NotificationChannel> AllAvailable = [NotificationChannel.InApp, NotificationChannel.Sms, NotificationChannel.Email];
    private static readonly MarketingCaps Caps = new(2, 5);

    private static long Us(string utc) => DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture).ToUnixMicroseconds();

    private static NotificationPreferences Prefs(string zone = "Asia/Shanghai", int marketing = 0b111, int service = 0b011, bool quiet = true) =>
        new(0b001, marketing, service, quiet ? QuietHours.Default : new QuietHours(false, 0, 0), zone);

    private static NotificationPlan Decide(NotificationCategory category, NotificationPreferences prefs, long nowUs, IReadOnlyList<long>? delivered = null,
        IReadOnlySet<NotificationChannel>? available = null) =>
        NotificationRules.Decide(new NotificationContext(category, prefs, nowUs, delivered ?? [], Caps, available ?? AllAvailable));

    [Fact]
    public void Security_goes_to_every_channel_at_once_even_at_3_am_and_over_every_cap()
    {
        var threeAmShanghai = Us("2026-03-01T19:00:00Z");
        var many = Enumerable.Range(0, 10).Select(i => threeAmShanghai - i * 60_000_000L).ToList();
        var plan = Decide(NotificationCategory.Security, NotificationPreferences.Default, threeAmShanghai, many);
        plan.Status.ShouldBe(NotificationStatus.Inbox);
        plan.DueAtUs.ShouldBe(threeAmShanghai);
        plan.Channels.ShouldBe(new Dictionary<NotificationChannel, DeliveryDecision>
        {
            [NotificationChannel.InApp] = DeliveryDecision.Now, [NotificationChannel.Sms] = DeliveryDecision.Now, [NotificationChannel.Email] = DeliveryDecision.Now,
        });
    }

    [Fact]
    public void Marketing_is_off_until_the_person_turns_it_on()
    {
        var noon = Us("2026-03-01T04:00:00Z");
        Decide(NotificationCategory.Marketing, NotificationPreferences.Default, noon).Status.ShouldBe(NotificationStatus.Suppressed);
        Decide(NotificationCategory.Marketing, Prefs(marketing: 0b001), noon).Status.ShouldBe(NotificationStatus.Inbox);
    }

    [Fact]
    public void Inside_quiet_hours_marketing_and_service_are_held_until_they_end_and_transactions_are_not()
    {
        var elevenPmShanghai = Us("2026-03-01T15:00:00Z");
        var eightAmNext = Us("2026-03-02T00:00:00Z");
        foreach (var category in new[] { NotificationCategory.Marketing, NotificationCategory.Service })
        {
            var held = Decide(category, Prefs(), elevenPmShanghai);
            held.Status.ShouldBe(NotificationStatus.Inbox);
            held.DueAtUs.ShouldBe(eightAmNext);
            held.Channels[NotificationChannel.InApp].ShouldBe(DeliveryDecision.Held);
            held.Channels[NotificationChannel.Sms].ShouldBe(DeliveryDecision.Held);
        }
        var transaction = Decide(NotificationCategory.Transaction, Prefs(), elevenPmShanghai);
        transaction.DueAtUs.ShouldBe(elevenPmShanghai);
        transaction.Channels[NotificationChannel.InApp].ShouldBe(DeliveryDecision.Now);
        // The same instant is 10:00 in New York: not quiet there.
        Decide(NotificationCategory.Marketing, Prefs("America/New_York"), elevenPmShanghai).DueAtUs.ShouldBe(elevenPmShanghai);
        // Quiet hours off: nothing held.
        Decide(NotificationCategory.Marketing, Prefs(quiet: false), elevenPmShanghai).DueAtUs.ShouldBe(elevenPmShanghai);
    }

    [Fact]
    public void Quiet_hours_that_do_not_span_midnight_end_the_same_day()
    {
        var zone = NotificationRules.Zone("Etc/UTC");
        var lunch = new QuietHours(true, 12 * 60, 13 * 60);
        NotificationRules.QuietHoursEnd(Us("2026-03-01T12:30:00Z"), lunch, zone).ShouldBe(Us("2026-03-01T13:00:00Z"));
        NotificationRules.QuietHoursEnd(Us("2026-03-01T13:00:00Z"), lunch, zone).ShouldBeNull();
        NotificationRules.QuietHoursEnd(Us("2026-03-01T11:59:00Z"), lunch, zone).ShouldBeNull();
        // Spanning midnight, just after midnight: ends this morning.
        NotificationRules.QuietHoursEnd(Us("2026-03-01T00:30:00Z"), QuietHours.Default, zone).ShouldBe(Us("2026-03-01T08:00:00Z"));
    }

    [Fact]
    public void The_daily_cap_is_per_calendar_day_in_the_persons_time_zone()
    {
        // Two marketing messages delivered at 20:00 and 23:00 Shanghai time on 1 March (12:00Z, 15:00Z).
        IReadOnlyList<long> delivered = [Us("2026-03-01T12:00:00Z"), Us("2026-03-01T15:00:00Z")];
        var beforeMidnightShanghai = Us("2026-03-01T15:59:00Z");
        var afterMidnightShanghai = Us("2026-03-01T16:01:00Z");
        Decide(NotificationCategory.Marketing, Prefs(quiet: false), beforeMidnightShanghai, delivered).Status.ShouldBe(NotificationStatus.Capped);
        var nextDay = Decide(NotificationCategory.Marketing, Prefs(quiet: false), afterMidnightShanghai, delivered);
        nextDay.Status.ShouldBe(NotificationStatus.Inbox);

        // In New York the same instants are 07:00, 10:00 and 11:01 of 1 March: one day, so the third is capped.
        var ny = Decide(NotificationCategory.Marketing, Prefs("America/New_York", quiet: false), afterMidnightShanghai, delivered);
        ny.Status.ShouldBe(NotificationStatus.Capped);
        ny.Channels.Values.ShouldAllBe(d => d == DeliveryDecision.Capped);
        // ... and New York's next day starts at 05:00Z on 2 March.
        Decide(NotificationCategory.Marketing, Prefs("America/New_York", quiet: false), Us("2026-03-02T05:00:00Z"), delivered).Status.ShouldBe(NotificationStatus.Inbox);
    }

    [Fact]
    public void Five_in_seven_days_caps_the_sixth_until_the_first_leaves_the_window()
    {
        var first = Us("2026-03-01T04:00:00Z");
        var day = 86_400_000_000L;
        IReadOnlyList<long> delivered = [.. Enumerable.Range(0, 5).Select(i => first + i * day)];
        Decide(NotificationCategory.Marketing, Prefs(quiet: false), first + 6 * day, delivered).Status.ShouldBe(NotificationStatus.Capped);
        Decide(NotificationCategory.Marketing, Prefs(quiet: false), first + 7 * day, delivered).Status.ShouldBe(NotificationStatus.Inbox);
    }

    [Fact]
    public void A_held_message_counts_on_the_day_it_is_delivered()
    {
        // Two held messages will be delivered at 08:00 Shanghai on 2 March; a third due at 23:00 on 1 March is held to
        // 08:00 on 2 March too, so it is the third of that day.
        IReadOnlyList<long> heldToMorning = [Us("2026-03-02T00:00:00Z"), Us("2026-03-02T00:00:00Z")];
        Decide(NotificationCategory.Marketing, Prefs(), Us("2026-03-01T15:00:00Z"), heldToMorning).Status.ShouldBe(NotificationStatus.Capped);
        // Without quiet hours it goes out on 1 March, a day with none yet.
        Decide(NotificationCategory.Marketing, Prefs(quiet: false), Us("2026-03-01T15:00:00Z"), heldToMorning).Status.ShouldBe(NotificationStatus.Inbox);
    }

    [Fact]
    public void A_channel_without_a_queue_or_phone_is_unavailable_and_the_others_still_go()
    {
        var plan = Decide(NotificationCategory.Security, NotificationPreferences.Default, Us("2026-03-01T04:00:00Z"), available: new HashSet<NotificationChannel> { NotificationChannel.InApp });
        plan.Status.ShouldBe(NotificationStatus.Inbox);
        plan.Channels[NotificationChannel.Sms].ShouldBe(DeliveryDecision.Unavailable);
        plan.Channels[NotificationChannel.Email].ShouldBe(DeliveryDecision.Unavailable);
        // Marketing on SMS only, no phone: nothing can carry it.
        Decide(NotificationCategory.Marketing, Prefs(marketing: 0b010, quiet: false), Us("2026-03-01T04:00:00Z"), available: new HashSet<NotificationChannel> { NotificationChannel.InApp })
            .Status.ShouldBe(NotificationStatus.Suppressed);
        // Marketing on SMS only, with a phone: sent, not in the inbox.
        Decide(NotificationCategory.Marketing, Prefs(marketing: 0b010, quiet: false), Us("2026-03-01T04:00:00Z")).Status.ShouldBe(NotificationStatus.NotInInbox);
    }

    [Fact]
    public void Templates_fill_known_variables_and_leave_no_placeholder()
    {
        NotificationTemplates.Render("trade_paid", "en", new Dictionary<string, string> { ["amount"] = "23.50", ["merchant"] = "Corner Shop" })!.Value.Body
            .ShouldBe("You paid ¥23.50 at Corner Shop");
        NotificationTemplates.Fill("{{ a }} {{ b }} {% if a %}yes{% endif %} <b>", new Dictionary<string, string> { ["a"] = "x&y" }).ShouldBe("x&y  yes <b>");
        NotificationTemplates.UsedVariables("{{ amount }} {% if merchant %}{{ secret.key }}{% endif %}")!.Order().ShouldBe(["amount", "merchant", "secret"]);
        NotificationTemplates.UsedVariables("{{ amount ")!.ShouldBeNull();
        NotificationTemplates.Variables["trade_paid"].Order().ShouldBe(["amount", "merchant"]);
        foreach (var type in NotificationTemplates.Types)
            foreach (var locale in NotificationTemplates.Locales)
                NotificationTemplates.Has(type, locale).ShouldBeTrue($"{type} has no {locale} text");
    }
}
