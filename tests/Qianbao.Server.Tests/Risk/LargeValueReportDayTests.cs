using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Risk;

/// <summary>
/// The large-value report finds its movements from the large-value hits by time, joined to the movements by id (migration 0047
/// dropped the movements' date index): exactly the movements of the China day asked for that a large-value hit names, whatever
/// their UTC date; not one of the evening before or the morning after, and not a movement hit by another rule.
/// </summary>
public abstract class LargeValueReportDayTests<THost>(THost host) : IClassFixture<THost> where THost : AmlHost
{
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    [Fact]
    public async Task The_days_large_value_movements_and_no_other()
    {
        // A day far from any other test's movements, with its China midnights on either side.
        var day = new DateOnly(2031, 3, 14).AddDays(Random.Shared.Next(0, 3000));
        var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), China);
        var end = start.AddDays(1);
        var subject = Guid.NewGuid();
        var wanted = new List<Guid>
        {
            await MovementAsync(subject, start, "large_value"),                        // the first microsecond of the China day
            await MovementAsync(subject, start.AddHours(9), "large_value"),            // another UTC date than the one before
            await MovementAsync(subject, end.AddTicks(-10), "large_value"),             // its last microsecond
        };
        await MovementAsync(subject, start.AddTicks(-10), "large_value");              // the evening before
        await MovementAsync(subject, end, "large_value");                              // the morning after
        await MovementAsync(subject, start.AddHours(12), "structuring");              // that day, another rule
        await MovementAsync(subject, start.AddHours(13), null);                       // that day, no hit

        var store = host.Services.GetRequiredService<AmlStore>();
        var found = await store.LargeValueAsync(day, CancellationToken.None);

        found.Select(m => m.Id).ShouldBe(wanted);
        found.ShouldAllBe(m => m.SubjectId == subject && m.ChinaDate == day.ToString("yyyy-MM-dd"));
    }

    private async Task<Guid> MovementAsync(Guid subject, DateTimeOffset at, string? rule)
    {
        var id = Guid.NewGuid();
        var atUs = (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        var db = host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync("""
            INSERT INTO aml_movements (id, event_id, subject_type, subject_id, direction, kind, amount_minor, currency, counterparty_id, reference, at_us, china_date)
            VALUES (@id, @eventId, 'user', @subject, 'out', 'transfer', 6000000000, 'CNY', NULL, 'test', @atUs, @chinaDate)
            """, new { id, eventId = Guid.NewGuid(), subject, atUs, chinaDate = AmlNames.ChinaDate(atUs) });
        if (rule is not null)
            await connection.ExecuteAsync("""
                INSERT INTO risk_hits (rule, subject_id, movement_id, case_id, amount_minor, at_us) VALUES (@rule, @subject, @id, @caseId, 6000000000, @atUs)
                """, new { rule, subject, id, caseId = Guid.NewGuid(), atUs });
        return id;
    }
}

public sealed class SqliteLargeValueReportDayTests(AmlSqliteHost host) : LargeValueReportDayTests<AmlSqliteHost>(host);

public sealed class PostgresLargeValueReportDayTests(AmlPostgresHost host) : LargeValueReportDayTests<AmlPostgresHost>(host);
