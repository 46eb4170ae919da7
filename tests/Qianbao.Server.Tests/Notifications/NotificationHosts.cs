using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Notifications;

/// <summary>The secure server (real SMS alerts, movable clock) without the new-device step-up, so fresh users can pay at once.</summary>
public abstract class NotificationHost(DatabaseEngine engine) : SecureHost(engine)
{
    protected override IEnumerable<KeyValuePair<string, string?>> SecureSettings() => [new("Qianbao:Security:NewDeviceStepUpHours", "0")];
}

public sealed class SqliteNotificationHost() : NotificationHost(DatabaseEngine.Sqlite);

public sealed class PostgresNotificationHost() : NotificationHost(DatabaseEngine.Postgres);
