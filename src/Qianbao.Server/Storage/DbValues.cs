using System.Data;
using System.Data.Common;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Qianbao.Server.Storage;

/// <summary>
/// How values cross the engine boundary. PostgreSQL stores ids as <c>uuid</c>; SQLite as canonical
/// lower-case text, so every SQLite write and comparison must use the same spelling.
/// </summary>
public static class DbValues
{
    public static object Id(this Db db, Guid id) => db.Engine == DatabaseEngine.Sqlite ? id.ToString() : id;

    /// <summary>
    /// A condition "<paramref name="column"/> is one of <paramref name="ids"/>" with its one parameter <c>@ids</c>: an
    /// array on PostgreSQL, a JSON array expanded by <c>json_each</c> on SQLite. The one place the dialects differ for sets.
    /// </summary>
    public static (string Sql, object Ids) IdIn(this Db db, string column, IEnumerable<Guid> ids) => db.Engine == DatabaseEngine.Postgres
        ? ($"{column} = ANY(@ids)", ids.ToArray())
        : ($"{column} IN (SELECT value FROM json_each(@ids))", System.Text.Json.JsonSerializer.Serialize(ids.Select(i => i.ToString())));

    public static Guid ReadId(this DbDataReader reader, int ordinal) =>
        reader.GetValue(ordinal) switch
        {
            Guid g => g,
            string s => Guid.Parse(s),
            var other => throw new InvalidCastException($"cannot read an id from {other.GetType()}"),
        };

    public static Guid? ReadNullableId(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.ReadId(ordinal);

    private static int registered;

    /// <summary>Teaches Dapper the same id spelling. Idempotent; call once at start.</summary>
    public static void RegisterDapperHandlers()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1) return;
        SqlMapper.RemoveTypeMap(typeof(Guid));
        SqlMapper.RemoveTypeMap(typeof(Guid?));
        SqlMapper.AddTypeHandler(new GuidHandler());
    }

    private sealed class GuidHandler : SqlMapper.TypeHandler<Guid>
    {
        public override void SetValue(IDbDataParameter parameter, Guid value)
        {
            if (parameter is SqliteParameter) { parameter.Value = value.ToString(); parameter.DbType = DbType.String; }
            else parameter.Value = value;
        }

        public override Guid Parse(object value) => value switch
        {
            Guid g => g,
            string s => Guid.Parse(s),
            _ => throw new InvalidCastException($"cannot read an id from {value.GetType()}"),
        };
    }
}
