-- Scratch warehouse for developing and checking the dbt project by hand.
-- Creates what the load step normally creates (schemas raw and ops, the raw tables, the load
-- ledger) and fills them with a few realistic rows per table, one defective row per rule.
--
--   dropdb -h 127.0.0.1 -U postgres --if-exists ndc_dbt_dev
--   createdb -h 127.0.0.1 -U postgres -E UTF8 -T template0 ndc_dbt_dev
--   psql -h 127.0.0.1 -U postgres -d ndc_dbt_dev -v ON_ERROR_STOP=1 -f scripts/dev_fixture.sql
--   NDC_WAREHOUSE_DB=ndc_dbt_dev ../.venv/bin/dbt build --profiles-dir .
--
-- The database must be UTF8 (normalize(..., nfc) requires it). Re-running this script
-- replaces the raw and ops schemas. E'...\uXXXX' strings give decomposed (NFD or
-- Windows-1258 style) text exactly as a legacy province's file decodes.

begin;

drop schema if exists raw cascade;
drop schema if exists ops cascade;
create schema raw;
create schema ops;

create table ops.load_ledger (
    batch_id text primary key,
    source text not null,
    entity text not null,
    source_file text,
    landing_key text not null,
    rows_extracted bigint not null,
    rows_landed bigint not null,
    rows_loaded bigint not null,
    loaded_at timestamptz not null
);

create table raw.civil_registration__birth (
    so_dang_ky text,
    ngay_dang_ky text,
    so_dinh_danh text,
    ho_ten text,
    ngay_sinh text,
    gioi_tinh text,
    noi_sinh_tinh text,
    ho_ten_me text,
    so_dinh_danh_me text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now()
);

create table raw.civil_registration__death (
    so_dang_ky text,
    ngay_dang_ky text,
    so_dinh_danh text,
    ho_ten text,
    ngay_sinh text,
    ngay_mat text,
    noi_mat_tinh text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now()
);

create table raw.social_insurance__insured_person (
    ma_so_bhxh text,
    so_dinh_danh text,
    ho_ten text,
    ngay_sinh text,
    gioi_tinh text,
    ma_don_vi text,
    updated_at text,
    _batch_id text not null,
    _source_row bigint not null,
    _loaded_at timestamptz not null default now()
);

-- Births: Ha Noi file of 10 June (UTF-8, and two rows as a Windows-1258 file decodes),
-- Ho Chi Minh City file of 11 June.
insert into raw.civil_registration__birth
    (so_dang_ky, ngay_dang_ky, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, noi_sinh_tinh,
     ho_ten_me, so_dinh_danh_me, _batch_id, _source_row, _loaded_at)
values
    ('KS-01-2025-000101', '5/6/2025', '001225000101', 'Nguyễn Minh Khang', '1/6/2025', 'Nam', '01', 'Nguyễn Thị Lan', '001190012345', 'cr-birth-20250610-01', 1, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000102', '5/6/2025', '001325000102', 'Trần  Ngọc Hân ', '28/5/2025', 'Nữ', '01', 'Phạm Thị Hoa', '001192023456', 'cr-birth-20250610-01', 2, '2025-06-10 08:00:00+07'),
    -- NFD "Nguyễn Văn Đức"
    ('KS-01-2025-000103', '6/6/2025', '001225000103', E'Nguye\u0302\u0303n Va\u0306n \u0110u\u031b\u0301c', '02/06/2025', 'Nam', '01', E'Le\u0302 Thi\u0323 Thu\u0301y', '001193034567', 'cr-birth-20250610-01', 3, '2025-06-10 08:00:00+07'),
    -- Windows-1258 style "Lê Thị Thuỷ", sex "Nữ" decomposed
    ('KS-01-2025-000104', '6/6/2025', '001325000104', E'L\u00ea Thi\u0323 Thuy\u0309', '3/6/2025', E'N\u01b0\u0303', '01', 'Đỗ Thị Hằng', '001194045678', 'cr-birth-20250610-01', 4, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000105', '6/6/2025', '', 'Hoàng Gia Huy', '4/6/2025', 'Nam', '01', 'Hoàng Thị Nga', '001195056789', 'cr-birth-20250610-01', 5, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000106', '7/6/2025', '00122500010', 'Vũ Đức Anh', '4/6/2025', 'Nam', '01', 'Vũ Thị Thanh', '001196067890', 'cr-birth-20250610-01', 6, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000107', '7/6/2025', '001325000107', 'Bùi Khánh Linh', '31/2/2024', 'Nữ', '01', 'Bùi Thị Yến', '001197078901', 'cr-birth-20250610-01', 7, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000108', '7/6/2025', '001225000108', 'Đặng Quang Minh', '??/5/2025', 'Nam', '01', 'Đặng Thị Loan', '001198089012', 'cr-birth-20250610-01', 8, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000109', '12/13/2020', '001325000109', 'Ngô Phương Thảo', '8/6/2025', 'Nữ', '01', 'Ngô Thị Mai', '001199090123', 'cr-birth-20250610-01', 9, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000110', '9/6/2025', '001225000110', 'Dương Hải Nam', '15/7/2025', 'Nam', '01', 'Dương Thị Hà', '001190101234', 'cr-birth-20250610-01', 10, '2025-06-10 08:00:00+07'),
    ('KS-01-2025-000111', '9/6/2025', '001325000111', 'Lý Bảo Ngọc', '7/6/2025', 'Không rõ', '01', 'Lý Thị Hương', '001191112345', 'cr-birth-20250610-01', 11, '2025-06-10 08:00:00+07'),
    -- Late registration of an adult (also insured, later deceased)
    ('KS-01-2025-000112', '9/6/2025', '001090000201', 'Nguyễn Văn An', '15/3/1990', 'Nam', '01', 'Nguyễn Thị Tâm', '001160000111', 'cr-birth-20250610-01', 12, '2025-06-10 08:00:00+07'),
    ('KS-79-2025-000201', '10/6/2025', '079225000201', 'Phạm Gia Bảo', '1/6/2025', 'Nam', '79', 'Phạm Thị Diễm', '079190201234', 'cr-birth-20250611-79', 1, '2025-06-11 08:00:00+07'),
    ('KS-79-2025-000202', '10/6/2025', '079325000202', 'Võ Ngọc Anh Thư', '2/6/2025', 'Nữ', '79', 'Võ Thị Kim', '079191212345', 'cr-birth-20250611-79', 2, '2025-06-11 08:00:00+07'),
    ('KS-79-2025-000203', '10/6/2025', '079225000203', 'Huỳnh Tấn Phát', '10/6/2025', 'Nam', '79', 'Huỳnh Thị Bích', '079192223456', 'cr-birth-20250611-79', 3, '2025-06-11 08:00:00+07');

-- Deaths: Ha Noi file of 10 June, Ho Chi Minh City file of 11 June.
insert into raw.civil_registration__death
    (so_dang_ky, ngay_dang_ky, so_dinh_danh, ho_ten, ngay_sinh, ngay_mat, noi_mat_tinh,
     _batch_id, _source_row, _loaded_at)
values
    ('KT-01-2025-000301', '4/6/2025', '001045000301', 'Đỗ Văn Hùng', '3/4/1945', '2/6/2025', '01', 'cr-death-20250610-01', 1, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000302', '4/6/2025', '001150000302', 'Bùi Thị Hạnh', '12/12/1950', '1/6/2025', '01', 'cr-death-20250610-01', 2, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000303', '6/6/2025', '001090000202', 'Trần Văn Bình', '20/7/1990', '5/6/2025', '01', 'cr-death-20250610-01', 3, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000304', '9/6/2025', '001090000201', 'Nguyễn Văn An', '15/3/1990', '8/6/2025', '01', 'cr-death-20250610-01', 4, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000305', '9/6/2025', '001048000305', 'Phan Văn Lộc', '', '7/6/2025', '01', 'cr-death-20250610-01', 5, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000306', '9/6/2025', '', 'Tạ Thị Nhung', '1/1/1940', '7/6/2025', '01', 'cr-death-20250610-01', 6, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000307', '9/6/2025', '00104500030X', 'Lương Văn Tài', '2/2/1945', '6/6/2025', '01', 'cr-death-20250610-01', 7, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000308', '9/6/2025', '001152000308', 'Mai Thị Xuân', '5/5/1952', '30/2/2025', '01', 'cr-death-20250610-01', 8, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000309', 'abc', '001047000309', 'Chu Văn Sơn', '9/9/1947', '3/6/2025', '01', 'cr-death-20250610-01', 9, '2025-06-10 08:05:00+07'),
    ('KT-01-2025-000310', '9/6/2025', '001155000310', 'Kiều Thị Oanh', '6/6/1955', '20/6/2025', '01', 'cr-death-20250610-01', 10, '2025-06-10 08:05:00+07'),
    -- NFD "Hoàng Văn Thắng"
    ('KT-01-2025-000311', '9/6/2025', '001049000311', E'Hoa\u0300ng Va\u0306n Tha\u0306\u0301ng', '11/11/1949', '8/6/2025', '01', 'cr-death-20250610-01', 11, '2025-06-10 08:05:00+07'),
    ('KT-79-2025-000401', '10/6/2025', '079042000401', 'Trương Văn Lâm', '1/3/1942', '9/6/2025', '79', 'cr-death-20250611-79', 1, '2025-06-11 08:05:00+07'),
    ('KT-79-2025-000402', '10/6/2025', '079146000402', 'Lâm Thị Cúc', '14/2/1946', '8/6/2025', '79', 'cr-death-20250611-79', 2, '2025-06-11 08:05:00+07'),
    ('KT-79-2025-000403', '10/6/2025', '079191000403', 'Lê Thị Hoa', '2/11/1991', '9/6/2025', '79', 'cr-death-20250611-79', 3, '2025-06-11 08:05:00+07'),
    ('KT-79-2025-000404', '11/6/2025', '079050000404', 'Quách Văn Phúc', '00/00/1950', '10/6/2025', '79', 'cr-death-20250611-79', 4, '2025-06-11 08:05:00+07');

-- Insured persons: incremental extractions of 9 and 10 June (a changed person reappears).
insert into raw.social_insurance__insured_person
    (ma_so_bhxh, so_dinh_danh, ho_ten, ngay_sinh, gioi_tinh, ma_don_vi, updated_at,
     _batch_id, _source_row, _loaded_at)
values
    ('0123456701', '001090000201', 'NGUYEN VAN AN', '1990-03-15', '1', 'TA0001A', '2025-06-08 10:00:00', 'si-insured-20250609', 1, '2025-06-09 02:00:00+07'),
    ('0123456702', '001090000202', 'Trần Văn Bình', '1990-07-20', '1', 'TA0001A', '2025-06-08 10:05:00', 'si-insured-20250609', 2, '2025-06-09 02:00:00+07'),
    ('0123456703', '079191000403', 'LE THI HOA', '1991-11-02', '0', 'TB0002B', '2025-06-08 11:00:00', 'si-insured-20250609', 3, '2025-06-09 02:00:00+07'),
    ('0123456704', '079185000204', 'Phạm Thị Thu', '1985-04-30', '0', 'TB0002B', '2025-06-08 11:30:00', 'si-insured-20250609', 4, '2025-06-09 02:00:00+07'),
    ('0123456705', '', 'TRINH VAN HAI', '1988-08-08', '1', 'TB0002B', '2025-06-08 12:00:00', 'si-insured-20250609', 5, '2025-06-09 02:00:00+07'),
    ('0123456706', 'A01090000206', 'Hồ Văn Nam', '1990-01-01', '1', 'TC0003C', '2025-06-08 12:10:00', 'si-insured-20250609', 6, '2025-06-09 02:00:00+07'),
    ('0123456707', '001190000207', 'Đinh Thị Lụa', '1990-02-30', '0', 'TC0003C', '2025-06-08 12:20:00', 'si-insured-20250609', 7, '2025-06-09 02:00:00+07'),
    ('0123456708', '001087000208', 'CAO VAN DUNG', '15/03/1987', '1', 'TC0003C', '2025-06-08 12:30:00', 'si-insured-20250609', 8, '2025-06-09 02:00:00+07'),
    ('0123456709', '001230000209', 'Tô Minh Quân', '2030-01-01', '1', 'TC0003C', '2025-06-08 12:40:00', 'si-insured-20250609', 9, '2025-06-09 02:00:00+07'),
    ('0123456710', '001193000210', 'Lạc Thị Nguyệt', '1993-06-06', '2', 'TC0003C', '2025-06-08 12:50:00', 'si-insured-20250609', 10, '2025-06-09 02:00:00+07'),
    ('0123456701', '001090000201', 'Nguyễn Văn An', '1990-03-15', '1', 'TD0004D', '2025-06-09 09:00:00', 'si-insured-20250610', 1, '2025-06-10 02:00:00+07'),
    ('0123456703', '079191000403', 'LE THI HOA', '1991-11-02', '0', 'TD0004D', '2025-06-09 09:30:00', 'si-insured-20250610', 2, '2025-06-10 02:00:00+07'),
    ('0123456711', '001092000211', 'Đặng Quốc Việt', '1992-12-24', '1', 'TD0004D', '2025-06-09 10:00:00', 'si-insured-20250610', 3, '2025-06-10 02:00:00+07'),
    ('0123456712', '001194000212', 'HOANG THI MAI', '1994-10-10', '0', 'TD0004D', '2025-06-09 10:30:00', 'si-insured-20250610', 4, '2025-06-10 02:00:00+07'),
    -- A later version with a malformed ID: quarantined; the 9 June version survives.
    ('0123456702', '00109000020', 'Trần Văn Bình', '1990-07-20', '1', 'TD0004D', '2025-06-09 11:00:00', 'si-insured-20250610', 5, '2025-06-10 02:00:00+07');

insert into ops.load_ledger
    (batch_id, source, entity, source_file, landing_key, rows_extracted, rows_landed, rows_loaded, loaded_at)
select
    batch_id, source, entity, source_file, landing_key, rows_loaded, rows_loaded, rows_loaded, loaded_at
from (
    select _batch_id as batch_id, 'civil_registration' as source, 'birth' as entity,
        'births_' || split_part(_batch_id, '-', 4) || '_' || split_part(_batch_id, '-', 3) || '.csv' as source_file,
        count(*) as rows_loaded, max(_loaded_at) as loaded_at
    from raw.civil_registration__birth group by _batch_id
    union all
    select _batch_id, 'civil_registration', 'death',
        'deaths_' || split_part(_batch_id, '-', 4) || '_' || split_part(_batch_id, '-', 3) || '.csv',
        count(*), max(_loaded_at)
    from raw.civil_registration__death group by _batch_id
    union all
    select _batch_id, 'social_insurance', 'insured_person', null, count(*), max(_loaded_at)
    from raw.social_insurance__insured_person group by _batch_id
) as batches
cross join lateral (
    select source || '/' || entity || '/' || to_char(loaded_at at time zone 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')
        || '/' || batch_id || '.parquet' as landing_key
) as keys;

commit;
