using Microsoft.Extensions.Logging.Abstractions;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Hosting;

/// <summary>A database keeps the mode it was first started in; the other mode refuses it, on each engine.</summary>
public abstract class DatabaseModeTests(DatabaseEngine engine) : IAsyncLifetime
{
    private string? directory;
    private Db? db;

    public async Task InitializeAsync()
    {
        DbValues.RegisterDapperHandlers();
        if (engine == DatabaseEngine.Postgres)
        {
            db = Db.ForPostgres(await PostgresCluster.Shared.CreateDatabaseAsync("mode"));
        }
        else
        {
            directory = Directory.CreateTempSubdirectory("qianbao-mode-").FullName;
            db = Db.ForSqlite(Path.Combine(directory, "qianbao.db"));
        }
        await Migrator.MigrateAsync(db, NullLogger.Instance);
    }

    public Task DisposeAsync()
    {
        if (directory is not null)
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
                // A pooled connection may still hold the file; the OS cleans temp later.
            }
        }
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(QianbaoMode.Sandbox, QianbaoMode.Production)]
    [InlineData(QianbaoMode.Production, QianbaoMode.Sandbox)]
    public async Task TheOtherModeIsRefused(QianbaoMode first, QianbaoMode other)
    {
        await DatabaseMode.EnsureAsync(db!, first, CancellationToken.None);
        await DatabaseMode.EnsureAsync(db!, first, CancellationToken.None); // a restart in the same mode is fine

        var refused = await Should.ThrowAsync<ConfigurationRefusedException>(() => DatabaseMode.EnsureAsync(db!, other, CancellationToken.None));
        refused.Problems.ShouldHaveSingleItem().ShouldStartWith(
            $"Qianbao:Mode must be {OptionsRules.Format(first)} for this database (was {OptionsRules.Format(other)})");
    }
}

public sealed class SqliteDatabaseModeTests() : DatabaseModeTests(DatabaseEngine.Sqlite);

public sealed class PostgresDatabaseModeTests() : DatabaseModeTests(DatabaseEngine.Postgres);
