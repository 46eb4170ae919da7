using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Qianbao.Server.Storage;

public static class WriteTransactions
{
    /// <summary>
    /// A transaction that will write after reading. On SQLite it is <c>BEGIN IMMEDIATE</c>: a deferred one that read first
    /// could not write once another connection committed (SQLITE_BUSY on a stale snapshot, which no busy timeout waits out).
    /// </summary>
    public static async Task<DbTransaction> BeginWriteAsync(this Db db, DbConnection connection, CancellationToken ct) =>
        db.Engine == DatabaseEngine.Sqlite ? ((SqliteConnection)connection).BeginTransaction(deferred: false) : await connection.BeginTransactionAsync(ct);
}
